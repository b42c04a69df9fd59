import Cloudflare from 'cloudflare';
import pino from 'pino';
import { inspect } from 'node:util';
import { Secret } from '../../src/config/secret';
import { CloudflareDnsProvider, RECORD_TAG } from '../../src/dns/cloudflare/provider';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { AbortedError, describeError, DnsProviderError } from '../../src/errors';
import { startCloudflareFake, type CloudflareFake } from '../fakes/cloudflare-api';
import { startHangingServer } from '../helpers/hanging-server';
import { makeTempDir, removeTempDir } from '../helpers/tmp';
import { waitFor } from '../helpers/wait';

const TOKEN = 'SENTINEL-good-token-abcdef0123456789';
const READ_ONLY = 'SENTINEL-read-only-token-0123456789';
const WRONG = 'SENTINEL-wrong-token-9876543210fedcba';
const logger = pino({ level: 'silent' });

let fake: CloudflareFake;
beforeAll(async () => {
  fake = await startCloudflareFake({
    zones: [{ name: 'example.test' }, { name: 'sub.example.test' }],
    tokens: { [TOKEN]: {}, [READ_ONLY]: { dnsEdit: false } },
  });
});
afterAll(() => fake.stop());
afterEach(async () => {
  fake.clearFailures();
  // Leave no records behind for the next test.
  const sdk = sdkClient();
  for (const r of fake.records()) await sdk.dns.records.delete(r.id, { zone_id: r.zone_id });
});

function provider(opts: { token?: string; zoneId?: string } = {}): CloudflareDnsProvider {
  return new CloudflareDnsProvider({ apiToken: new Secret(opts.token ?? TOKEN), zoneId: opts.zoneId, baseURL: fake.baseURL, logger });
}

function sdkClient(): Cloudflare {
  return new Cloudflare({ apiToken: TOKEN, apiKey: null, apiEmail: null, userServiceKey: null, baseURL: fake.baseURL, maxRetries: 0 });
}

const zoneId = (name: string) => fake.zones.find((z) => z.name === name)!.id;

/** The error `promise` rejects with, asserting it is a DnsProviderError. */
async function dnsError(promise: Promise<unknown>): Promise<DnsProviderError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(DnsProviderError);
  return err as DnsProviderError;
}

function expectNoToken(err: Error, token: string): void {
  for (const text of [err.message, describeError(err), inspect(err, { depth: 10 }), String(err.stack)]) {
    expect(text).not.toContain(token);
  }
}

describe('CloudflareDnsProvider zones', () => {
  it('finds the zone by the longest suffix the token can see', async () => {
    expect(await provider().zoneOf('_acme-challenge.a.sub.example.test')).toBe('sub.example.test');
    expect(await provider().zoneOf('_acme-challenge.example.test')).toBe('example.test');
  });

  it('still finds the sub-zone after the parent zone was looked up', async () => {
    const p = provider();
    expect(await p.zoneOf('_acme-challenge.example.test')).toBe('example.test');
    expect(await p.zoneOf('_acme-challenge.a.sub.example.test')).toBe('sub.example.test');
  });

  it('creates the record in the zone that holds the name', async () => {
    await provider().present('_acme-challenge.a.sub.example.test', 'v1');
    expect(fake.records()).toEqual([
      expect.objectContaining({ zone_name: 'sub.example.test', name: '_acme-challenge.a.sub.example.test', type: 'TXT' }),
    ]);
  });

  it('uses CLOUDFLARE_ZONE_ID without listing zones', async () => {
    const before = fake.requests.length;
    const p = provider({ zoneId: zoneId('sub.example.test') });
    expect(await p.zoneOf('_acme-challenge.a.sub.example.test')).toBe('sub.example.test');
    const made = fake.requests.slice(before);
    expect(made.map((r) => `${r.method} ${r.path}`)).toEqual([`GET /client/v4/zones/${zoneId('sub.example.test')}`]);
  });

  it('refuses a CLOUDFLARE_ZONE_ID whose zone does not hold the name', async () => {
    const err = await dnsError(provider({ zoneId: zoneId('sub.example.test') }).present('_acme-challenge.example.test', 'v'));
    expect(err.message).toContain('CLOUDFLARE_ZONE_ID is the zone sub.example.test, which does not hold _acme-challenge.example.test');
    expect(fake.records()).toEqual([]);
  });

  it('says no zone is visible for an unknown CLOUDFLARE_ZONE_ID', async () => {
    const err = await dnsError(provider({ zoneId: 'f'.repeat(32) }).zoneOf('_acme-challenge.example.test'));
    expect(err.message).toMatch(/no zone for _acme-challenge\.example\.test is visible to CLOUDFLARE_API_TOKEN/);
  });

  it('says no zone is visible for a name outside every zone', async () => {
    const err = await dnsError(provider().present('_acme-challenge.example.invalid', 'v'));
    expect(err.message).toMatch(/no zone for _acme-challenge\.example\.invalid is visible to CLOUDFLARE_API_TOKEN/);
    expect(err.transient).toBe(false);
  });
});

describe('CloudflareDnsProvider records', () => {
  const NAME = '_acme-challenge.example.test';

  it('holds two values at one name and cleans up exactly the one asked for', async () => {
    const p = provider();
    const apex = await p.present(NAME, 'apex-value');
    const wildcard = await p.present(NAME, 'wildcard-value');
    expect(apex).toMatchObject({ fqdn: NAME, value: 'apex-value', zoneId: zoneId('example.test') });
    expect(fake.records().map((r) => r.content).sort()).toEqual(['"apex-value"', '"wildcard-value"']);
    expect(fake.records().every((r) => r.comment === RECORD_TAG && r.ttl === 60)).toBe(true);

    await p.cleanup(apex);
    expect(fake.records()).toEqual([expect.objectContaining({ id: wildcard.id, content: '"wildcard-value"' })]);
  });

  it('uses, and so later cleans up, a record Cloudflare created although it answered HTTP 500', async () => {
    fake.failNext({ method: 'POST', pathIncludes: '/dns_records' }, { status: 500, code: 10000, message: 'Internal error', applyFirst: true });
    const p = provider();
    const record = await p.present(NAME, 'made-anyway');
    expect(fake.records()).toEqual([expect.objectContaining({ id: record.id, content: '"made-anyway"' })]);
    await p.cleanup(record);
    expect(fake.records()).toEqual([]);
  });

  it('treats cleaning up a record that is already gone as done', async () => {
    const p = provider();
    const record = await p.present(NAME, 'v');
    await p.cleanup(record);
    await expect(p.cleanup(record)).resolves.toBeUndefined();
    expect(fake.records()).toEqual([]);
  });

  it('sweeps only the records it tagged, at the names asked for', async () => {
    const p = provider();
    await p.present(NAME, 'left-1');
    await p.present(NAME, 'left-2');
    const elsewhere = await p.present('_acme-challenge.other.example.test', 'not-swept');
    await sdkClient().dns.records.create({ zone_id: zoneId('example.test'), type: 'TXT', name: NAME, content: '"foreign"', ttl: 60 });

    expect(await p.sweep([NAME, NAME])).toBe(2);
    const left = fake.records().map((r) => `${r.name} ${r.content}`).sort();
    expect(left).toEqual([`${NAME} "foreign"`, `${elsewhere.fqdn} "not-swept"`]);
    expect(await p.sweep([NAME])).toBe(0);
  });
});

describe('CloudflareDnsProvider errors', () => {
  it('reports a refused token by its setting and never shows the token', async () => {
    const err = await dnsError(provider({ token: WRONG }).present('_acme-challenge.example.test', 'v'));
    expect(err.transient).toBe(false);
    expect(err.message).toContain('CLOUDFLARE_API_TOKEN');
    expect(err.message).toContain('HTTP 403');
    expectNoToken(err, WRONG);
  });

  it('names DNS:Edit when the token may read the zone but not edit records', async () => {
    const err = await dnsError(provider({ token: READ_ONLY }).present('_acme-challenge.example.test', 'v'));
    expect(err.transient).toBe(false);
    expect(err.message).toMatch(/failed to create TXT record for _acme-challenge\.example\.test \(HTTP 403/);
    expect(err.message).toContain('DNS:Edit');
    expectNoToken(err, READ_ONLY);
    expect(fake.records()).toEqual([]);
  });

  it('marks a failing Cloudflare (HTTP 500) as transient', async () => {
    // Retry-After keeps the SDK's own two retries short.
    fake.failAlways({ method: 'POST' }, { status: 500, code: 10001, message: 'Internal error', retryAfter: 0.01 });
    const before = fake.requests.length;
    const err = await dnsError(provider().present('_acme-challenge.example.test', 'v'));
    expect(err.transient).toBe(true);
    expect(err.message).toMatch(/failed to create TXT record for _acme-challenge\.example\.test \(HTTP 500 10001: Internal error\)/);
    expect(fake.requests.slice(before).filter((r) => r.method === 'POST')).toHaveLength(3);
    expectNoToken(err, TOKEN);
  });

  it('does not take a 200 answer with success: false as a created record', async () => {
    fake.failNext({ method: 'POST' }, { status: 200, code: 1000, message: 'something went wrong' });
    const err = await dnsError(provider().present('_acme-challenge.example.test', 'v'));
    expect(err.message).toContain('failed to create TXT record for _acme-challenge.example.test');
  });

  it('reports an unreachable API as transient', async () => {
    const down = new CloudflareDnsProvider({ apiToken: new Secret(TOKEN), baseURL: 'http://127.0.0.1:1/client/v4', logger });
    const err = await dnsError(down.zoneOf('_acme-challenge.example.test'));
    expect(err.transient).toBe(true);
    expect(err.message).toContain('cannot reach the Cloudflare API');
    expectNoToken(err, TOKEN);
  }, 15_000);
});

/** A pino logger whose lines (parsed) land in `lines`. */
function capturingLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk)) as Record<string, unknown>); done(); } });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

describe('CloudflareDnsProvider journal (STATE_DIR/txt-records.json) and leftovers', () => {
  const NAME = '_acme-challenge.example.test';
  let dir: string;
  let bare: CloudflareFake;
  const journalOf = (stateDir: string) => (JSON.parse(readFileSync(join(stateDir, 'txt-records.json'), 'utf8')) as { records: Array<Record<string, unknown>> }).records;

  beforeAll(async () => {
    dir = await makeTempDir('txt-journal');
    // A DNS host that does not keep comments: the tag cannot find our records there.
    bare = await startCloudflareFake({ zones: [{ name: 'example.test' }], tokens: { [TOKEN]: {} }, keepComments: false });
  });
  afterAll(async () => {
    await bare.stop();
    await removeTempDir(dir);
  });
  const onBare = (stateDir: string) => new CloudflareDnsProvider({ apiToken: new Secret(TOKEN), baseURL: bare.baseURL, logger, stateDir, retry: { baseDelayMs: 10 } });

  it('journals each record with its id and forgets it once deleted', async () => {
    const stateDir = join(dir, 'plain');
    const p = onBare(stateDir);
    const record = await p.present(NAME, 'journalled');
    expect(journalOf(stateDir)).toEqual([expect.objectContaining({ provider: 'cloudflare', fqdn: NAME, value: 'journalled', id: record.id, zoneId: bare.zones[0].id })]);
    await p.cleanup(record);
    expect(journalOf(stateDir)).toEqual([]);
    expect(p.leftovers()).toEqual([]);
  });

  it('a record whose delete failed is a leftover; the next run\'s sweep removes it through the journal although the host kept no comment', async () => {
    const stateDir = join(dir, 'leftover');
    const first = onBare(stateDir);
    const record = await first.present(NAME, 'left-behind');
    const other = await first.present(NAME, 'deleted-fine');
    bare.failAlways({ method: 'DELETE', pathIncludes: record.id }, { status: 500, code: 10001, message: 'Internal error' });
    await expect(first.cleanup(record)).rejects.toBeInstanceOf(DnsProviderError);
    await first.cleanup(other);
    expect(first.leftovers()).toEqual([{ name: NAME, id: record.id }]);
    expect(bare.records()).toEqual([expect.objectContaining({ id: record.id, comment: null })]);
    bare.clearFailures();

    const next = onBare(stateDir);
    expect(await next.sweep([NAME])).toBe(1);
    expect(bare.records()).toEqual([]);
    expect(journalOf(stateDir)).toEqual([]);
    expect(next.leftovers()).toEqual([]);
  });

  it('a journalled record the sweep cannot delete does not stop the run: it stays journalled and is a leftover', async () => {
    const stateDir = join(dir, 'stuck');
    const record = await onBare(stateDir).present(NAME, 'stuck');
    bare.failAlways({ method: 'DELETE' }, { status: 500, code: 10001, message: 'Internal error' });
    const next = onBare(stateDir);
    await expect(next.sweep([NAME])).resolves.toBe(0);
    expect(next.leftovers()).toEqual([{ name: NAME, id: record.id }]);
    expect(journalOf(stateDir)).toEqual([expect.objectContaining({ id: record.id })]);
    bare.clearFailures();
    expect(await onBare(stateDir).sweep([NAME])).toBe(1);
    expect(journalOf(stateDir)).toEqual([]);
  });

  it('an entry without an id (a crash before the create was answered) is swept by name and value, and nothing else is', async () => {
    const stateDir = join(dir, 'no-id');
    mkdirSync(stateDir, { recursive: true });
    const sdk = new Cloudflare({ apiToken: TOKEN, apiKey: null, apiEmail: null, userServiceKey: null, baseURL: bare.baseURL, maxRetries: 0 });
    const zone = bare.zones[0].id;
    await sdk.dns.records.create({ zone_id: zone, type: 'TXT', name: NAME, content: '"created-then-crashed"', ttl: 60 });
    await sdk.dns.records.create({ zone_id: zone, type: 'TXT', name: NAME, content: '"someone-elses"', ttl: 60 });
    writeFileSync(join(stateDir, 'txt-records.json'), JSON.stringify({ records: [
      { provider: 'cloudflare', fqdn: NAME, value: 'created-then-crashed', zoneId: zone, at: new Date().toISOString() },
      { provider: 'cloudflare', fqdn: NAME, value: 'never-created', zoneId: zone, at: new Date().toISOString() },
    ] }));
    expect(await onBare(stateDir).sweep([NAME])).toBe(1);
    expect(bare.records().map((r) => r.content)).toEqual(['"someone-elses"']);
    expect(journalOf(stateDir)).toEqual([]);
    for (const r of bare.records()) await sdk.dns.records.delete(r.id, { zone_id: zone });
  });

  it('a create Cloudflare refused leaves no journal entry; without STATE_DIR nothing is journalled', async () => {
    const stateDir = join(dir, 'refused');
    bare.failNext({ method: 'POST' }, { status: 400, code: 1004, message: 'DNS Validation Error' });
    await expect(onBare(stateDir).present(NAME, 'refused')).rejects.toBeInstanceOf(DnsProviderError);
    expect(journalOf(stateDir)).toEqual([]);
    const p = new CloudflareDnsProvider({ apiToken: new Secret(TOKEN), baseURL: bare.baseURL, logger });
    await p.cleanup(await p.present(NAME, 'unjournalled'));
    expect(existsSync(join(dir, 'txt-records.json'))).toBe(false);
  });
});

describe('CloudflareDnsProvider waits: bounded, logged, interruptible', () => {
  const NAME = '_acme-challenge.example.test';
  const rateLimited = (retryAfter: number) => ({ status: 429, code: 971, message: 'Please wait and consider throttling your request speed', retryAfter });

  it('a Retry-After of 120 s fails at once, naming the wait, as a transient error', async () => {
    fake.failAlways({ method: 'POST' }, rateLimited(120));
    const before = fake.requests.length;
    const began = Date.now();
    const err = await dnsError(provider().present(NAME, 'v'));
    expect(Date.now() - began).toBeLessThan(10_000);
    expect(err.transient).toBe(true);
    expect(err.message).toMatch(/failed to create TXT record for _acme-challenge\.example\.test: Cloudflare asked to wait 120 s \(HTTP 429\)/);
    expect(fake.requests.slice(before).filter((r) => r.method === 'POST')).toHaveLength(1);
  });

  it('a shorter Retry-After is waited for, and the wait is logged', async () => {
    fake.failNext({ method: 'POST' }, rateLimited(1));
    const { logger: log, lines } = capturingLogger();
    const p = new CloudflareDnsProvider({ apiToken: new Secret(TOKEN), baseURL: fake.baseURL, logger: log });
    await p.cleanup(await p.present(NAME, 'v'));
    expect(lines).toContainEqual(expect.objectContaining({ level: 40, msg: 'Cloudflare asked to wait 1 s (429); waiting', waitSeconds: 1 }));
  });

  it('the run\'s signal ends a Retry-After wait at once (AbortedError); deletes still run after it', async () => {
    const controller = new AbortController();
    const p = new CloudflareDnsProvider({ apiToken: new Secret(TOKEN), baseURL: fake.baseURL, logger, signal: controller.signal });
    const record = await p.present(NAME, 'kept-until-cleanup');
    fake.failNext({ method: 'POST' }, rateLimited(30));
    const before = fake.requests.length;
    const second = p.present(NAME, 'never-made').then(() => undefined, (e: unknown) => e);
    await waitFor(() => fake.requests.slice(before).some((r) => r.status === 429), 5000, { what: 'the 429' });
    const began = Date.now();
    controller.abort();
    expect(await second).toBeInstanceOf(AbortedError);
    expect(Date.now() - began).toBeLessThan(2000);
    await p.cleanup(record);
    expect(fake.records()).toEqual([]);
  });

  it('a Cloudflare API that never answers: the error names the server, the time and CLOUDFLARE_TIMEOUT', async () => {
    const hang = await startHangingServer();
    try {
      const baseURL = `http://127.0.0.1:${hang.port}/client/v4`;
      const p = new CloudflareDnsProvider({ apiToken: new Secret(TOKEN), baseURL, logger, timeoutMs: 500 });
      const began = Date.now();
      const err = await dnsError(p.zoneOf(NAME));
      expect(Date.now() - began).toBeLessThan(5000);
      expect(err.transient).toBe(true);
      expect(err.message).toContain(`the Cloudflare API at ${baseURL} did not answer within 0.5 s (CLOUDFLARE_TIMEOUT raises it)`);
      expectNoToken(err, TOKEN);
    } finally {
      await hang.stop();
    }
  });

  it('a Cloudflare API that stops in the middle of an answer fails the same way', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"success": true, "result": [');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/client/v4`;
      const p = new CloudflareDnsProvider({ apiToken: new Secret(TOKEN), baseURL, logger, timeoutMs: 500 });
      const err = await dnsError(p.zoneOf(NAME));
      expect(err.message).toContain(`the Cloudflare API at ${baseURL} did not answer within 0.5 s (CLOUDFLARE_TIMEOUT raises it)`);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

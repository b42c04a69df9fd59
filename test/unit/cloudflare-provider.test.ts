import Cloudflare from 'cloudflare';
import pino from 'pino';
import { inspect } from 'node:util';
import { Secret } from '../../src/config/secret';
import { CloudflareDnsProvider, RECORD_TAG } from '../../src/dns/cloudflare/provider';
import { describeError, DnsProviderError } from '../../src/errors';
import { startCloudflareFake, type CloudflareFake } from '../fakes/cloudflare-api';

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

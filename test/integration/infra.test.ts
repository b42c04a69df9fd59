/**
 * Proves the test infrastructure: the Cloudflare fake behaves as the real `cloudflare` SDK expects
 * (envelope, errors, pagination), its TXT records are really served by pebble-challtestsrv, and
 * Pebble itself is reachable and validates a DNS-01 order against them.
 */
import { X509Certificate } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { Agent } from 'node:https';
import * as acme from 'acme-client';
import Cloudflare, { APIError } from 'cloudflare';
import { startCloudflareFake, type CloudflareFake } from '../fakes/cloudflare-api';
import { httpsGet } from '../helpers/https';
import { startPebble, type PebbleEnv } from '../helpers/pebble';

const TOKEN = 'sentinel-token-5b1f0e7c-never-log-me';

function sdk(fake: CloudflareFake, apiToken = TOKEN, maxRetries = 0): Cloudflare {
  return new Cloudflare({ apiToken, baseURL: fake.baseURL, apiKey: null, apiEmail: null, maxRetries });
}

/** Runs `fn`, expects the SDK to throw an APIError, and returns it. */
async function apiError(fn: () => Promise<unknown>): Promise<APIError> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof APIError) return err;
    throw err;
  }
  throw new Error('expected the SDK call to throw an APIError');
}

function codes(err: APIError): number[] {
  return err.errors.map((e) => e.code ?? -1);
}

describe('Cloudflare fake, driven by the real SDK', () => {
  let fake: CloudflareFake;
  let zoneId: string;

  beforeAll(async () => {
    fake = await startCloudflareFake({
      zones: [{ name: 'example.test' }, { name: 'other.test' }],
      tokens: {
        [TOKEN]: {},
        'read-only': { dnsEdit: false },
        'other-only': { zones: ['other.test'] },
        disabled: { status: 'disabled' },
      },
    });
    zoneId = fake.zones.find((z) => z.name === 'example.test')!.id;
  });
  afterAll(async () => fake.stop());
  afterEach(() => fake.clearFailures());

  it('verifies a known token, and rejects an unknown one with 401 code 1000', async () => {
    const verified = await sdk(fake).user.tokens.verify();
    expect(verified.status).toBe('active');
    expect(verified.id).toMatch(/^[0-9a-f]{32}$/);

    const err = await apiError(() => sdk(fake, 'no-such-token').user.tokens.verify());
    expect(err.status).toBe(401);
    expect(codes(err)).toEqual([1000]);
  });

  it('lists zones by exact name, only those the token may see', async () => {
    const zones = [];
    for await (const zone of sdk(fake).zones.list({ name: 'example.test' })) zones.push(zone);
    expect(zones.map((z) => [z.name, z.id])).toEqual([['example.test', zoneId]]);

    const hidden = [];
    for await (const zone of sdk(fake, 'other-only').zones.list({ name: 'example.test' })) hidden.push(zone);
    expect(hidden).toEqual([]);
  });

  it('creates two TXT values under one name, lists them by name.exact, deletes one by id', async () => {
    const cf = sdk(fake);
    const name = '_acme-challenge.example.test';
    const a = await cf.dns.records.create({ zone_id: zoneId, type: 'TXT', name, content: 'value-a', ttl: 60, comment: 'nrcert' });
    const b = await cf.dns.records.create({ zone_id: zoneId, type: 'TXT', name, content: '"value-b"', ttl: 60 });
    expect(a.id).toMatch(/^[0-9a-f]{32}$/);
    expect(a).toMatchObject({ name, type: 'TXT', content: 'value-a', ttl: 60, comment: 'nrcert', zone_id: zoneId, zone_name: 'example.test' });

    const listed = [];
    for await (const r of cf.dns.records.list({ zone_id: zoneId, type: 'TXT', name: { exact: name } })) listed.push(r);
    expect(listed.map((r) => r.id).sort()).toEqual([a.id, b.id].sort());
    expect(fake.requests.some((r) => r.query['name.exact'] === name)).toBe(true);

    expect(await cf.dns.records.delete(a.id, { zone_id: zoneId })).toEqual({ id: a.id });
    expect(fake.records().map((r) => r.id)).not.toContain(a.id);
    expect(fake.records().map((r) => r.id)).toContain(b.id);

    const again = await apiError(() => cf.dns.records.delete(a.id, { zone_id: zoneId }));
    expect([again.status, codes(again)]).toEqual([404, [81044]]);
    await cf.dns.records.delete(b.id, { zone_id: zoneId });
  });

  it('pages through more records than per_page and stops at the first empty page', async () => {
    const cf = sdk(fake);
    const name = '_acme-challenge.paged.example.test';
    for (let i = 0; i < 12; i += 1) {
      await cf.dns.records.create({ zone_id: zoneId, type: 'TXT', name, content: `v${i}`, ttl: 1 });
    }
    const before = fake.requests.length;
    const seen: string[] = [];
    for await (const r of cf.dns.records.list({ zone_id: zoneId, name: { exact: name }, per_page: 5 })) {
      seen.push(r.content ?? '');
    }
    expect(seen.sort()).toEqual(Array.from({ length: 12 }, (_, i) => `v${i}`).sort());
    const pages = fake.requests.slice(before).map((r) => r.query.page ?? '1');
    expect(pages).toEqual(['1', '2', '3', '4']);
  });

  it('refuses an identical record with 400 code 81058', async () => {
    const cf = sdk(fake);
    const body = { zone_id: zoneId, type: 'TXT' as const, name: 'dup.example.test', content: 'same', ttl: 1 };
    await cf.dns.records.create(body);
    const err = await apiError(() => cf.dns.records.create({ ...body, content: '"same"' }));
    expect([err.status, codes(err)]).toEqual([400, [81058]]);
  });

  it('answers 403 code 10000 for unknown, disabled, read-only and out-of-scope tokens', async () => {
    const create = (token: string) => () =>
      sdk(fake, token).dns.records.create({ zone_id: zoneId, type: 'TXT', name: 'x.example.test', content: 'x', ttl: 1 });
    for (const token of ['no-such-token', 'disabled', 'read-only', 'other-only']) {
      const err = await apiError(create(token));
      expect([token, err.status, codes(err)]).toEqual([token, 403, [10000]]);
    }
    const list = await apiError(() => sdk(fake, 'no-such-token').zones.list({ name: 'example.test' }));
    expect(list.status).toBe(403);
  });

  it('answers 400 code 7003 for an unknown zone id', async () => {
    const err = await apiError(() =>
      sdk(fake).dns.records.list({ zone_id: '0'.repeat(32), type: 'TXT' }));
    expect([err.status, codes(err)]).toEqual([400, [7003, 7000]]);
  });

  it('surfaces injected failures, and the SDK retries a 429 honouring Retry-After', async () => {
    fake.failNext({ method: 'GET', pathIncludes: '/zones' }, { status: 500, code: 10001, message: 'Internal error' });
    const err = await apiError(() => sdk(fake).zones.list({ name: 'example.test' }));
    expect([err.status, codes(err)]).toEqual([500, [10001]]);

    fake.failNext({ pathIncludes: '/zones' }, { status: 429, code: 971, message: 'Please wait and consider throttling your request speed', retryAfter: 0 });
    const before = fake.requests.length;
    const zones = await sdk(fake, TOKEN, 2).zones.list({ name: 'example.test' });
    expect(zones.result.map((z) => z.name)).toEqual(['example.test']);
    expect(fake.requests.slice(before).map((r) => r.status)).toEqual([429, 200]);

    fake.failAlways({ method: 'POST' }, { status: 503, code: 10000, message: 'down', retryAfter: 7 });
    const down = await apiError(() =>
      sdk(fake).dns.records.create({ zone_id: zoneId, type: 'TXT', name: 'y', content: 'y', ttl: 1 }));
    expect(down.status).toBe(503);
    expect(down.headers?.get('retry-after')).toBe('7');
  });
});

describe('Pebble + challtestsrv, fed by the fake', () => {
  let pebble: PebbleEnv;
  let fake: CloudflareFake;
  let zoneId: string;
  let ca: string;

  beforeAll(async () => {
    pebble = await startPebble();
    ca = await readFile(pebble.caCertPath, 'utf8');
    fake = await startCloudflareFake({
      zones: [{ name: 'example.test' }],
      tokens: { [TOKEN]: {} },
      challtestsrvManagementUrl: pebble.challtestsrvUrl,
    });
    zoneId = fake.zones[0]!.id;
  });
  afterAll(async () => {
    await fake?.stop();
    await pebble?.stop();
  });

  function resolver(): Resolver {
    const r = new Resolver({ timeout: 2000, tries: 1 });
    r.setServers([pebble.dnsResolver]);
    return r;
  }

  async function txt(name: string): Promise<string[]> {
    try {
      return (await resolver().resolveTxt(name)).map((chunks) => chunks.join('')).sort();
    } catch (err) {
      if ((err as { code?: string }).code === 'ENODATA' || (err as { code?: string }).code === 'ENOTFOUND') return [];
      throw err;
    }
  }

  it('serves TXT records created through the SDK, and drops only the deleted value', async () => {
    const cf = sdk(fake);
    const name = '_acme-challenge.dns.example.test';
    const a = await cf.dns.records.create({ zone_id: zoneId, type: 'TXT', name, content: 'first', ttl: 60 });
    await cf.dns.records.create({ zone_id: zoneId, type: 'TXT', name, content: '"second"', ttl: 60 });
    expect(await txt(name)).toEqual(['first', 'second']);

    await cf.dns.records.delete(a.id, { zone_id: zoneId });
    expect(await txt(name)).toEqual(['second']);
  });

  it('serves Pebble\'s directory over TLS trusted through its own certificate', async () => {
    const res = await httpsGet(pebble.directoryUrl, ca);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ newAccount: expect.any(String), newOrder: expect.any(String) });
    await expect(httpsGet(pebble.directoryUrl, '')).rejects.toThrow();
  });

  it('returns the issuing root and intermediate as PEM', async () => {
    const { root, intermediate } = await pebble.fetchRoots();
    expect(root).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(new X509Certificate(intermediate).checkIssued(new X509Certificate(root))).toBe(true);
  });

  it('issues a wildcard + apex certificate, validated through TXT records held by the fake', async () => {
    acme.axios.defaults.httpsAgent = new Agent({ ca });
    const cf = sdk(fake);
    const client = new acme.Client({
      directoryUrl: pebble.directoryUrl,
      accountKey: await acme.crypto.createPrivateEcdsaKey(),
      backoffMin: 100,
      backoffMax: 1000,
    });
    const [, csr] = await acme.crypto.createCsr({ altNames: ['example.test', '*.example.test'] });
    const ids = new Map<string, string>();
    const pem = await client.auto({
      csr,
      termsOfServiceAgreed: true,
      challengePriority: ['dns-01'],
      skipChallengeVerification: true,
      challengeCreateFn: async (authz, _challenge, keyAuthorization) => {
        const r = await cf.dns.records.create({ zone_id: zoneId, type: 'TXT', name: `_acme-challenge.${authz.identifier.value}`, content: keyAuthorization, ttl: 60 });
        ids.set(keyAuthorization, r.id);
      },
      challengeRemoveFn: async (_authz, _challenge, keyAuthorization) => {
        await cf.dns.records.delete(ids.get(keyAuthorization)!, { zone_id: zoneId });
      },
    });
    const leaf = new X509Certificate(pem);
    expect(leaf.subjectAltName).toContain('DNS:*.example.test');
    const days = (Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)) / 86_400_000;
    expect(Math.round(days)).toBe(90);
    expect(fake.records().filter((r) => r.name === '_acme-challenge.example.test')).toEqual([]);
  });
});

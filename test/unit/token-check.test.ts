/**
 * checkCloudflareToken against the Cloudflare fake, through the real SDK: every kind of bad
 * token gets a failed item with its fix, CAA records are judged, and the canary TXT record is
 * gone afterwards in every case. The token never appears in what the check returns.
 */
import Cloudflare from 'cloudflare';
import pino from 'pino';
import { Writable } from 'node:stream';
import { Secret } from '../../src/config/secret';
import { checkCloudflareToken, type TokenCheck } from '../../src/dns/cloudflare/token-check';
import { AbortedError } from '../../src/errors';
import { startCloudflareFake, type CloudflareFake } from '../fakes/cloudflare-api';

const GOOD = 'SENTINEL-good-token-abcdef0123456789abcdef';
const NO_EDIT = 'SENTINEL-no-dns-edit-0123456789abcdef0123';
const OTHER_ZONE = 'SENTINEL-other-zone-only-0123456789abcde';
const DISABLED = 'SENTINEL-disabled-token-0123456789abcdef';
const EXPIRED = 'SENTINEL-expired-token-0123456789abcdef0';
const GLOBAL_KEY = '0123456789abcdef0123456789abcdef01234';
const UNKNOWN = 'SENTINEL-unknown-token-0123456789abcdef0';
const ALL = [GOOD, NO_EDIT, OTHER_ZONE, DISABLED, EXPIRED, GLOBAL_KEY, UNKNOWN];
const TOKEN_PAGE = 'https://dash.cloudflare.com/profile/api-tokens';
const logger = pino({ level: 'silent' });

let fake: CloudflareFake;
beforeAll(async () => {
  fake = await startCloudflareFake({
    zones: [{ name: 'example.test' }, { name: 'other.test' }],
    tokens: {
      [GOOD]: {}, [NO_EDIT]: { dnsEdit: false }, [OTHER_ZONE]: { zones: ['other.test'] },
      [DISABLED]: { status: 'disabled' }, [EXPIRED]: { status: 'expired' },
    },
  });
});
afterAll(() => fake.stop());
afterEach(async () => {
  fake.clearFailures();
  const left = fake.records();
  // Removed before asserting, so one test's leftover does not fail the tests after it.
  for (const r of left) await sdk().dns.records.delete(r.id, { zone_id: r.zone_id });
  expect(left.filter((r) => r.type === 'TXT')).toEqual([]);
});

function sdk(): Cloudflare {
  return new Cloudflare({ apiToken: GOOD, apiKey: null, apiEmail: null, userServiceKey: null, baseURL: fake.baseURL, maxRetries: 0 });
}

async function check(token: string, domain = 'example.test', extra: { signal?: AbortSignal; logger?: pino.Logger } = {}): Promise<TokenCheck> {
  const result = await checkCloudflareToken({ apiToken: new Secret(token), baseURL: fake.baseURL, domain, logger: extra.logger ?? logger, signal: extra.signal });
  for (const secret of ALL) expect(JSON.stringify(result)).not.toContain(secret);
  return result;
}

const item = (result: TokenCheck, id: string) => result.items.find((i) => i.id === id);

async function addCaa(name: string, content: string): Promise<void> {
  const zone = fake.zones.find((z) => `.${name}`.endsWith(`.${z.name}`))!;
  await sdk().dns.records.create({ zone_id: zone.id, type: 'CAA', name, content, ttl: 1 } as Cloudflare.DNS.RecordCreateParams);
}

describe('checkCloudflareToken', () => {
  it('passes a scoped token with Zone:Read and DNS:Edit, creating and deleting a tagged canary', async () => {
    const before = fake.requests.length;
    const result = await check(GOOD);
    expect(result.ok).toBe(true);
    expect(result.zone).toEqual({ id: fake.zones[0].id, name: 'example.test' });
    expect(result.items.map((i) => [i.id, i.ok, i.warning ?? false])).toEqual([
      ['token-kind', true, false], ['token-active', true, false], ['zone-visible', true, false], ['dns-edit', true, false], ['caa', true, false],
    ]);
    const made = fake.requests.slice(before);
    const create = made.find((r) => r.method === 'POST');
    expect(create?.body).toMatchObject({ type: 'TXT', name: '_acme-challenge.example.test', comment: 'nrcert acme-challenge (safe to delete)' });
    expect((create?.body as { content: string }).content).toMatch(/^"nrcert-canary-[0-9a-f]{16}"$/);
    expect(made.filter((r) => r.method === 'DELETE' && r.status === 200)).toHaveLength(1);
  });

  it('names DNS:Edit and the zone when the token may read but not edit, and links the token page', async () => {
    const result = await check(NO_EDIT, '*.example.test');
    expect(result.ok).toBe(false);
    const edit = item(result, 'dns-edit')!;
    expect(edit.ok).toBe(false);
    expect(edit.message).toBe('the token lacks DNS:Edit on example.test');
    expect(edit.fix).toContain(TOKEN_PAGE);
    expect(item(result, 'zone-visible')?.ok).toBe(true);
  });

  it('says Zone:Read is missing when the token cannot see the zone, and stops there', async () => {
    const result = await check(OTHER_ZONE);
    expect(result.ok).toBe(false);
    expect(item(result, 'zone-visible')).toMatchObject({ ok: false, message: expect.stringContaining('Zone:Read') });
    expect(item(result, 'zone-visible')?.fix).toContain(TOKEN_PAGE);
    expect(item(result, 'dns-edit')).toBeUndefined();
  });

  it.each([['disabled', DISABLED], ['expired', EXPIRED]])('names a %s token\'s status', async (status, token) => {
    const result = await check(token);
    expect(result.ok).toBe(false);
    expect(item(result, 'token-active')).toMatchObject({ ok: false, message: `the token is ${status}` });
    expect(result.items).toHaveLength(2);
  });

  it('says an unknown token is not accepted', async () => {
    const result = await check(UNKNOWN);
    expect(item(result, 'token-active')).toMatchObject({ ok: false, message: expect.stringContaining('HTTP 401') });
  });

  it('refuses a Global API Key without sending it anywhere', async () => {
    const before = fake.requests.length;
    const result = await check(GLOBAL_KEY);
    expect(result.ok).toBe(false);
    expect(result.items).toEqual([expect.objectContaining({ id: 'token-kind', ok: false })]);
    expect(result.items[0].message).toMatch(/Global API Key.*scoped API token/);
    expect(result.items[0].fix).toContain(TOKEN_PAGE);
    expect(result.items[0].fix).toContain('Edit zone DNS');
    expect(fake.requests.length).toBe(before);
  });

  it('reports a failing create (HTTP 500) as a failed item, leaving no record', async () => {
    fake.failAlways({ method: 'POST', pathIncludes: '/dns_records' }, { status: 500, code: 10000, message: 'Internal error' });
    const result = await check(GOOD);
    expect(item(result, 'dns-edit')).toMatchObject({ ok: false, message: expect.stringContaining('HTTP 500') });
  });

  it.each([['every create', Infinity], ['one create (the retry finds the record there)', 1]])(
    'removes the canary when Cloudflare carried out %s but answered HTTP 500', async (_what, times) => {
      fake.failNext({ method: 'POST', pathIncludes: '/dns_records' }, { status: 500, code: 10000, message: 'Internal error', applyFirst: true }, times);
      const before = fake.requests.length;
      await check(GOOD);
      const made = fake.requests.slice(before);
      expect(made.find((r) => r.method === 'POST')?.status).toBe(500);
      // The fake answers 404 for a record it does not hold: a 200 proves the canary existed and went.
      expect(made.filter((r) => r.method === 'DELETE' && r.status === 200)).toHaveLength(1);
      expect(fake.records().filter((r) => r.type === 'TXT')).toEqual([]);
    });

  it('removes the canary when it is interrupted right after creating it, then rejects with AbortedError', async () => {
    const controller = new AbortController();
    const spy = new Writable({
      write(chunk: Buffer, _enc, next) {
        if (chunk.toString().includes('test TXT record')) controller.abort();
        next();
      },
    });
    const aborting = pino({ level: 'info' }, spy);
    const before = fake.requests.length;
    await expect(check(GOOD, 'example.test', { signal: controller.signal, logger: aborting })).rejects.toBeInstanceOf(AbortedError);
    const made = fake.requests.slice(before);
    expect(made.filter((r) => r.method === 'POST').at(-1)?.status).toBe(200);
    expect(made.at(-1)).toMatchObject({ method: 'DELETE', status: 200 });
  });
});

describe('CAA', () => {
  it('warns about a CAA record that allows only another CA, naming it and the fix', async () => {
    await addCaa('example.test', '0 issue "digicert.com"');
    const result = await check(GOOD);
    expect(result.ok).toBe(true);
    const caa = item(result, 'caa')!;
    expect(caa.warning).toBe(true);
    expect(caa.message).toContain('example.test CAA 0 issue "digicert.com"');
    expect(caa.message).toContain('letsencrypt.org');
    expect(caa.fix).toContain('0 issue "letsencrypt.org"');
  });

  it('passes CAA records that allow Let\'s Encrypt (with account parameters)', async () => {
    await addCaa('example.test', '0 issue "digicert.com"');
    await addCaa('example.test', '0 issue "letsencrypt.org; accounturi=https://acme-v02.api.letsencrypt.org/acme/acct/1"');
    const caa = item(await check(GOOD), 'caa')!;
    expect(caa).toMatchObject({ ok: true, message: expect.stringContaining('allow letsencrypt.org') });
    expect(caa.warning).toBeUndefined();
  });

  it('warns when issuewild forbids the wildcard although issue allows the apex', async () => {
    await addCaa('example.test', '0 issue "letsencrypt.org"');
    await addCaa('example.test', '0 issuewild ";"');
    const caa = item(await check(GOOD), 'caa')!;
    expect(caa.warning).toBe(true);
    expect(caa.message).toContain('*.example.test');
    expect(caa.fix).toContain('0 issuewild "letsencrypt.org"');
  });

  it('climbs from a sub-domain to the zone apex to find the CAA records that govern it', async () => {
    await addCaa('example.test', '0 issue "pki.goog"');
    const caa = item(await check(GOOD, 'pi.home.example.test'), 'caa')!;
    expect(caa.warning).toBe(true);
    expect(caa.message).toContain('example.test CAA 0 issue "pki.goog"');
  });

  it('ignores iodef-only CAA records and says nothing restricts issuance without any', async () => {
    expect(item(await check(GOOD), 'caa')).toEqual({ id: 'caa', ok: true, message: expect.stringContaining('no CAA record') });
    await addCaa('example.test', '0 iodef "mailto:admin@example.test"');
    expect(item(await check(GOOD), 'caa')?.warning).toBeUndefined();
  });
});

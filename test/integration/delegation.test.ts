/**
 * CNAME delegation of the challenge name, end to end with the real CLI: challtestsrv serves
 * `_acme-challenge.example.test CNAME _acme-challenge.acme-zone.test` (a TXT query there answers
 * the CNAME and the target's values together, as a resolver would, so Pebble follows it), and
 * the Cloudflare fake holds three zones with a token allowed on acme-zone.test only: the
 * least-privilege setup a Cloudflare token cannot otherwise give.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, SENTINEL_TOKEN, startStack, type CliResult, type Stack } from '../helpers/cli';

const NAME = '_acme-challenge.example.test';
const TARGET = '_acme-challenge.acme-zone.test';
let stack: Stack;

async function challtestsrv(path: string, body: Record<string, string>): Promise<void> {
  const res = await fetch(`${stack.pebble.challtestsrvUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`challtestsrv ${path}: HTTP ${res.status}`);
}

/** Serves `host` as a CNAME to `target` for the duration of `body`. */
async function withCname<T>(cnames: Array<[string, string]>, body: () => Promise<T>): Promise<T> {
  for (const [host, target] of cnames) await challtestsrv('/set-cname', { host: `${host}.`, target: `${target}.` });
  try {
    return await body();
  } finally {
    for (const [host] of cnames) await challtestsrv('/clear-cname', { host: `${host}.` });
  }
}

function nrcert(args: string[], overrides: Record<string, string> = {}): Promise<CliResult> {
  return runCli(args, stack.env({ LOG_FORMAT: 'json', ...overrides }), stack.dir);
}

function expectExit(result: CliResult, code: number): void {
  if (result.code !== code) throw new Error(`exit ${result.code} (expected ${code})\n${result.stdout}\n${result.stderr}`);
}

function zoneId(name: string): string {
  return stack.fake.zones.find((z) => z.name === name)!.id;
}

/** The requests that wrote DNS records (create, delete), as method + zone + record id. */
function writes(from: number) {
  return stack.fake.requests.slice(from).filter((r) => r.path.includes('/dns_records') && r.method !== 'GET')
    .map((r) => ({ method: r.method, zone: r.path.split('/')[4], id: r.path.split('/')[6], name: (r.body as { name?: string } | undefined)?.name, status: r.status }));
}

beforeAll(async () => {
  stack = await startStack({}, { [SENTINEL_TOKEN]: { zones: ['acme-zone.test'] } }, ['example.test', 'acme-zone.test', 'blocked.test']);
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

describe('nrcert with _acme-challenge delegated by CNAME to a zone the token alone can edit', () => {
  test('renew --force gets the wildcard + apex certificate; records are created only in the delegated zone and removed by id; a leftover at the target is swept', async () => {
    // What an interrupted earlier run left at the target: tagged with nrcert's comment.
    const leftover = await fetch(`${stack.fake.baseURL}/zones/${zoneId('acme-zone.test')}/dns_records`, {
      method: 'POST', headers: { authorization: `Bearer ${SENTINEL_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'TXT', name: TARGET, content: '"left-by-a-crashed-run"', ttl: 60, comment: 'nrcert acme-challenge (safe to delete)' }),
    }).then((r) => r.json() as Promise<{ result: { id: string } }>);
    const from = stack.fake.requests.length;
    const result = await withCname([[NAME, TARGET]], () => nrcert(['renew', '--force']));
    expectExit(result, 0);
    const cert = new X509Certificate(readFileSync(join(stack.env().CERT_DIR, 'cert.pem')));
    expect(cert.subjectAltName).toBe('DNS:example.test, DNS:*.example.test');
    const done = writes(from);
    const created = done.filter((w) => w.method === 'POST');
    expect(created).toHaveLength(2);
    expect(created.every((w) => w.zone === zoneId('acme-zone.test') && w.name === TARGET && w.status === 200)).toBe(true);
    // Each deleted by its id (an unknown id answers 404), in the delegated zone.
    const deleted = done.filter((w) => w.method === 'DELETE');
    expect(deleted).toHaveLength(3);
    expect(deleted[0].id).toBe(leftover.result.id);
    expect(deleted.every((w) => w.zone === zoneId('acme-zone.test') && w.status === 200)).toBe(true);
    expect(new Set(deleted.map((w) => w.id)).size).toBe(3);
    expect(stack.fake.records()).toEqual([]);
    // The provider was never asked about example.test, which the token cannot see.
    expect(stack.fake.requests.slice(from).some((r) => r.query.name === 'example.test')).toBe(false);
    const logs = result.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; fqdn?: string });
    expect(logs.some((l) => l.msg === `${NAME} is delegated to ${TARGET} via ${NAME} → ${TARGET}: the TXT record goes at ${TARGET}`)).toBe(true);
    expect(logs.find((l) => l.msg === 'TXT record visible at every nameserver')?.fqdn).toBe(TARGET);
    expect(result.stderr).not.toContain(SENTINEL_TOKEN);
  }, 60_000);

  test('a CNAME loop is refused before any order (exit 6), naming the chain', async () => {
    const from = stack.fake.requests.length;
    const result = await withCname([[NAME, TARGET], [TARGET, NAME]], () => nrcert(['renew', '--force']));
    expectExit(result, 6);
    expect(result.stderr).toContain(`the CNAME chain of ${NAME} is a loop (${NAME} → ${TARGET} → ${NAME}): no TXT record can be found there; fix the CNAME record of ${NAME} at your DNS host`);
    expect(result.stderr).not.toContain('ACME order created');
    expect(writes(from)).toEqual([]);
  }, 60_000);

  test('a CNAME into a zone the token cannot see fails before any order (exit 5), naming the target, its zone and the fix', async () => {
    const from = stack.fake.requests.length;
    const blocked = '_acme-challenge.blocked.test';
    const result = await withCname([[NAME, blocked]], () => nrcert(['renew', '--force']));
    expectExit(result, 5);
    expect(result.stderr).toContain(`${NAME} is a CNAME to ${blocked} (${NAME} → ${blocked}), so the TXT record goes in the zone holding ${blocked}, but cloudflare cannot publish there: cloudflare: no zone for ${blocked} is visible to CLOUDFLARE_API_TOKEN`);
    expect(result.stderr).toContain(`Give the token DNS:Edit and Zone:Read on the zone holding ${blocked}, or point the CNAME at a name in a zone the token can see`);
    expect(result.stderr).not.toContain('ACME order created');
    expect(writes(from)).toEqual([]);
  }, 60_000);

  test('without the CNAME, the same token fails before any order: it cannot see example.test', async () => {
    const result = await nrcert(['renew', '--force']);
    expectExit(result, 5);
    expect(result.stderr).toContain(`cloudflare: no zone for ${NAME} is visible to CLOUDFLARE_API_TOKEN`);
    expect(result.stderr).not.toContain('ACME order created');
  }, 60_000);

  test('doctor shows the delegation with its zone, and tests the token where the records go', async () => {
    const result = await withCname([[NAME, TARGET]], () => nrcert(['doctor', '--json']));
    const checks = (JSON.parse(result.stdout) as { checks: Array<{ id: string; status: string; message: string }> }).checks;
    expect(checks.find((c) => c.id === 'delegation')).toEqual({ id: 'delegation', status: 'ok', message: `${NAME} → ${TARGET} (zone acme-zone.test)` });
    expect(checks.find((c) => c.id === 'cloudflare.zone-visible')).toMatchObject({ status: 'ok', message: 'the token can see the zone acme-zone.test (Zone:Read)' });
    expect(checks.find((c) => c.id === 'cloudflare.dns-edit')).toMatchObject({ status: 'ok' });
    expect(stack.fake.records()).toEqual([]);
  }, 60_000);

  test('doctor fails the delegation line on a loop, with the fix', async () => {
    const result = await withCname([[NAME, TARGET], [TARGET, NAME]], () => nrcert(['doctor', '--json']));
    const checks = (JSON.parse(result.stdout) as { checks: Array<{ id: string; status: string; message: string; fix?: string }> }).checks;
    expect(checks.find((c) => c.id === 'delegation')).toMatchObject({ status: 'fail', fix: `fix the CNAME record of ${NAME} at your DNS host` });
    expect(result.code).toBe(1);
  }, 60_000);
});

/**
 * DNS_PROVIDER=duckdns, end to end: the real CLI against Pebble (no authorization reuse, so the
 * apex and the wildcard each need a challenge) and the loopback DuckDNS fake, which keeps one TXT
 * value per domain and publishes it into challtestsrv a little late (as DuckDNS's nameservers
 * lag), so Pebble validates what the fake holds. Orders are counted at the ARI proxy in front
 * of Pebble. The token (a UUID, as DuckDNS's are) must never be printed.
 */
import { X509Certificate } from 'node:crypto';
import { promises as dns } from 'node:dns';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAriProxy, type AriProxy } from '../fakes/ari-proxy';
import { startDuckDnsFake, type DuckDnsFake } from '../fakes/duckdns-api';
import { runCli, startStack, type CliResult, type Stack } from '../helpers/cli';
import { ExitCode } from '../../src/errors';

/** The account's token: a UUID nobody else uses, so any output containing it is a leak. */
const TOKEN = '5e471e1a-0b5c-4d2e-9a7f-3c1d0c0ffee5';

let stack: Stack;
let proxy: AriProxy;
let duck: DuckDnsFake;
const outputs: CliResult[] = [];

beforeAll(async () => {
  stack = await startStack();
  proxy = await startAriProxy(stack.pebble);
  duck = await startDuckDnsFake({ token: TOKEN, domains: ['home'], challtestsrvManagementUrl: stack.pebble.challtestsrvUrl, publishDelayMs: 300 });
});

afterAll(async () => {
  await duck?.stop();
  await proxy?.stop();
  await stack?.stop();
});

afterEach(() => {
  for (const r of outputs.splice(0)) expect(`${r.stdout}${r.stderr}`).not.toContain(TOKEN);
});

async function nrcert(args: string[], overrides: Record<string, string | undefined> = {}): Promise<CliResult> {
  const result = await runCli(args, stack.env({
    ACME_DIRECTORY: proxy.directoryUrl,
    DNS_PROVIDER: 'duckdns',
    DUCKDNS_TOKEN: TOKEN,
    DUCKDNS_BASE_URL: duck.baseURL,
    DUCKDNS_SEQUENCE_INTERVAL: '0',
    DOMAINS: 'home.duckdns.org,*.home.duckdns.org',
    CLOUDFLARE_API_TOKEN: undefined,
    CLOUDFLARE_BASE_URL: undefined,
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'trace',
    ...overrides,
  }), stack.dir);
  outputs.push(result);
  return result;
}

/** Every file below `dir`. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : []));
}

/** The JSON log lines of a run. */
function logLines(result: CliResult): Array<{ time: number; msg: string; [k: string]: unknown }> {
  return result.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
}

test('renew --force gets home.duckdns.org + *.home.duckdns.org, validating the two one after the other, and clears at the end', async () => {
  const [orders, before] = [proxy.newOrders.length, duck.updates.length];
  const result = await nrcert(['renew', '--force']);
  expect(result.stderr).not.toMatch(/"level":50/);
  expect(result.code).toBe(0);
  expect(proxy.newOrders).toHaveLength(orders + 1);
  const cert = new X509Certificate(readFileSync(join(stack.env().CERT_DIR, 'cert.pem')));
  expect(cert.subjectAltName?.split(', ').sort()).toEqual(['DNS:*.home.duckdns.org', 'DNS:home.duckdns.org']);

  // The fake saw: a clear before the order (the token check), the two values, each replacing
  // the last, then one clear. Never an IP update.
  const updates = duck.updates.slice(before);
  expect(updates.map((u) => (u.clear ? 'clear' : 'set'))).toEqual(['clear', 'set', 'set', 'clear']);
  expect(updates.every((u) => u.kind === 'txt' && u.answer === 'OK' && u.domains.join() === 'home')).toBe(true);
  const [first, second] = [updates[1].txt, updates[2].txt];
  expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect(second).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect(second).not.toBe(first);
  expect(duck.txt('home')).toBeUndefined();
  await duck.published();
  const resolver = new dns.Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers([stack.pebble.dnsResolver]);
  await expect(resolver.resolveTxt('_acme-challenge.home.duckdns.org')).rejects.toMatchObject({ code: expect.stringMatching(/^(ENODATA|ENOTFOUND)$/) });

  // The second value went out only after the CA had validated the first authorization.
  const validated = logLines(result).filter((l) => l.msg === 'DNS-01 challenge validated');
  expect(validated).toHaveLength(2);
  expect(updates[2].at).toBeGreaterThanOrEqual(validated[0].time);
  expect(updates[3].at).toBeGreaterThanOrEqual(validated[1].time);

  // Nothing nrcert keeps in STATE_DIR carries the token either.
  for (const file of filesUnder(stack.env().STATE_DIR)) expect(readFileSync(file, 'latin1')).not.toContain(TOKEN);
});

test('a token DuckDNS refuses (KO) fails before any order, naming DUCKDNS_TOKEN', async () => {
  const [orders, before] = [proxy.newOrders.length, duck.updates.length];
  const result = await nrcert(['renew', '--force'], { DUCKDNS_TOKEN: '00000000-1111-4222-8333-444444444444' });
  expect(result.code).toBe(ExitCode.dnsProvider);
  expect(result.stderr).toContain('duckdns: failed to clear the TXT record of home.duckdns.org: DuckDNS answered KO: DUCKDNS_TOKEN is wrong');
  expect(proxy.newOrders).toHaveLength(orders);
  expect(duck.updates.slice(before).map((u) => u.answer)).toEqual(['KO']);
});

test('a domain that is not the account\'s (KO) fails the same way, naming it', async () => {
  const orders = proxy.newOrders.length;
  const result = await nrcert(['renew', '--force'], { DOMAINS: 'cabin.duckdns.org,*.cabin.duckdns.org' });
  expect(result.code).toBe(ExitCode.dnsProvider);
  expect(result.stderr).toContain('cabin.duckdns.org is not one of the account\'s domains');
  expect(proxy.newOrders).toHaveLength(orders);
});

test('a name outside duckdns.org is a configuration error before anything is asked', async () => {
  const [orders, before] = [proxy.newOrders.length, duck.updates.length];
  const result = await nrcert(['renew', '--force'], { DOMAINS: 'home.duckdns.org,example.test' });
  expect(result.code).toBe(ExitCode.config);
  expect(result.stderr).toContain('DOMAINS: "example.test" is not a DuckDNS name');
  expect(proxy.newOrders).toHaveLength(orders);
  expect(duck.updates).toHaveLength(before);
});

test('DuckDNS failing (HTTP 503) is tried three times in all, then fails as transient before any order', async () => {
  const [orders, before] = [proxy.newOrders.length, duck.updates.length];
  duck.failNext(503, 3);
  const result = await nrcert(['renew', '--force']);
  expect(result.code).toBe(ExitCode.dnsProvider);
  expect(result.stderr).toContain('duckdns: failed to clear the TXT record of home.duckdns.org: HTTP 503: DuckDNS is busy or failing');
  expect(duck.updates.slice(before).map((u) => u.answer)).toEqual([503, 503, 503]);
  expect(proxy.newOrders).toHaveLength(orders);
});

test('doctor sends DuckDNS nothing (every call changes the domain) and says how the token is checked', async () => {
  const before = duck.updates.length;
  const result = await nrcert(['doctor', '--json']);
  const checks = (JSON.parse(result.stdout) as { checks: Array<{ id: string; status: string; fix?: string }> }).checks;
  expect(checks.find((c) => c.id === 'duckdns.token')).toMatchObject({ status: 'skip', fix: expect.stringContaining('renew --dry-run checks it') });
  expect(checks.find((c) => c.id === 'config')).toMatchObject({ status: 'ok' });
  expect(duck.updates).toHaveLength(before);
});

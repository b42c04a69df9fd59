/**
 * Wrong settings are caught before a certificate is ordered: the real CLI against Pebble (behind
 * the proxy that records every newOrder) and the Cloudflare fake. Each bad setting exits 3 with
 * the setting named, places no order and sends nothing to Cloudflare; a good run then orders
 * once, so the counters are shown to count.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAriProxy, type AriProxy } from '../fakes/ari-proxy';
import { runCli, startStack, type Stack } from '../helpers/cli';

let stack: Stack;
let proxy: AriProxy;

beforeAll(async () => {
  stack = await startStack();
  proxy = await startAriProxy(stack.pebble);
});

afterAll(async () => {
  await proxy?.stop();
  await stack?.stop();
});

const env = (overrides: Record<string, string | undefined> = {}) => stack.env({ ACME_DIRECTORY: proxy.directoryUrl, ...overrides });

/** Runs `nrcert renew` in `cwd` and checks that the CA got no order and, unless `cloudflare`, Cloudflare no request. */
async function renewWithoutOrdering(overrides: Record<string, string | undefined>, cwd = stack.dir, cloudflare = false) {
  const [orders, requests] = [proxy.newOrders.length, stack.fake.requests.length];
  const result = await runCli(['renew'], env(overrides), cwd);
  expect(proxy.newOrders).toHaveLength(orders);
  if (!cloudflare) expect(stack.fake.requests).toHaveLength(requests);
  return result;
}

const names = Array.from({ length: 100 }, (_, i) => `h${i}.example.test`);

test.each([
  ['DNS_RESOLVERS', { DNS_RESOLVERS: '127.0.0.1:99999' }],
  ['CLOUDFLARE_BASE_URL', { CLOUDFLARE_BASE_URL: 'http://' }],
  ['DOMAINS', { DOMAINS: ['example.test', ...names].join(',') }],
  ['ACME_EMAIL', { ACME_EMAIL: 'me@example..test' }],
  ['RESTART_TIMEOUT', { RESTART_TIMEOUT: '99999999', RESTART_COMMAND: 'true' }],
  ['RENEW_START_DELAY', { RENEW_START_DELAY: '99999999' }],
  ['RESTART_COMMAND', { RESTART_COMMAND: '/usr/local/bin/restart-nodered-that-is-not-there' }],
])('a bad %s exits 3 naming it, before any order', async (setting, overrides) => {
  const result = await renewWithoutOrdering(overrides);
  expect(result.code).toBe(3);
  expect(result.stderr).toContain(`${setting}: `);
});

test('a CERT_DIR that links to nothing exits 3 naming it, before any order', async () => {
  const link = join(stack.dir, 'certs-on-usb');
  symlinkSync(join(stack.dir, 'usb-not-mounted', 'certs'), link);
  const result = await renewWithoutOrdering({ CERT_DIR: link });
  expect(result.code).toBe(3);
  expect(result.stderr).toContain(`CERT_DIR: ${link} is a symbolic link`);
});

test('a ./.env that links to nothing exits 3 naming it, before any order', async () => {
  const cwd = join(stack.dir, 'with-dangling-env');
  mkdirSync(cwd);
  symlinkSync(join(stack.dir, 'moved.env'), join(cwd, '.env'));
  const result = await renewWithoutOrdering({}, cwd);
  expect(result.code).toBe(3);
  expect(result.stderr).toContain(`${join(cwd, '.env')} is a symbolic link to ${join(stack.dir, 'moved.env')}, which does not exist`);
});

test('a NUL in ACME_EMAIL (from the env file) exits 3 naming it, before any order', async () => {
  const file = join(stack.dir, 'nul.env');
  writeFileSync(file, 'ACME_EMAIL=me\u0000@example.test\n');
  const result = await renewWithoutOrdering({ NRCERT_ENV_FILE: file });
  expect(result.code).toBe(3);
  expect(result.stderr).toMatch(/ACME_EMAIL: .*control character/);
});

test('an ACME_DIRECTORY that answers 404 is named with its URL, before any order', async () => {
  const nope = proxy.directoryUrl.replace(/\/[^/]*$/, '/nope');
  // Cloudflare is asked first, for leftover records of an earlier run; that orders nothing.
  const result = await renewWithoutOrdering({ ACME_DIRECTORY: nope }, stack.dir, true);
  expect(result.code).not.toBe(0);
  expect(result.stderr).toContain(`ACME_DIRECTORY: ${nope} answered HTTP 404`);
});

test('with good settings the same run orders once (the counters count)', async () => {
  const [orders, requests] = [proxy.newOrders.length, stack.fake.requests.length];
  const result = await runCli(['renew'], env(), stack.dir);
  expect(result.code).toBe(0);
  expect(proxy.newOrders).toHaveLength(orders + 1);
  expect(stack.fake.requests.length).toBeGreaterThan(requests);
});

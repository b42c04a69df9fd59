/**
 * ARI end to end: the real CLI against Pebble behind a loopback proxy that adds renewalInfo
 * (RFC 9773) to the directory. A fresh 90-day certificate is not due by the one-third rule; when
 * the CA's suggested window opens, the scheduled renewal runs and its order names the
 * certificate it replaces.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { certificateId } from '../../src/acme/ari';
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

const env = () => stack.env({ ACME_DIRECTORY: proxy.directoryUrl });
const certPem = () => readFileSync(join(env().CERT_DIR, 'cert.pem'), 'utf8');

test('the CA\'s renewal window drives the renewal, and the new order carries replaces', async () => {
  expect((await runCli(['renew'], env(), stack.dir)).code).toBe(0);
  const firstId = certificateId(certPem());
  expect(proxy.newOrders[0].replaces).toBeUndefined();

  // No window offered for it yet (renewalInfo answers 404): the one-third rule says not due.
  const quiet = await runCli(['renew', '--scheduled'], env(), stack.dir);
  expect(quiet.code).toBe(0);
  expect(quiet.stdout).toMatch(/not due for renewal/);
  expect(proxy.newOrders).toHaveLength(1);

  // The CA asks for an early renewal: a window that is already open.
  proxy.setWindow(firstId, { start: new Date(Date.now() - 3_600_000), end: new Date() }, 60);
  const result = await runCli(['renew', '--scheduled'], env(), stack.dir);
  expect(result.code).toBe(0);
  expect(result.stderr).toMatch(/ARI: the CA suggests renewing between/);
  expect(proxy.renewalInfoRequests).toContain(firstId);
  expect(proxy.newOrders).toHaveLength(2);
  expect(proxy.newOrders[1].replaces).toBe(firstId);
  expect(certificateId(certPem())).not.toBe(firstId);
});

test('status shows the window the CA suggested for the installed certificate', async () => {
  const id = certificateId(certPem());
  const start = new Date(Date.now() + 10 * 86_400_000);
  const end = new Date(Date.now() + 11 * 86_400_000);
  proxy.setWindow(id, { start, end }, 60);
  expect((await runCli(['renew', '--scheduled'], env(), stack.dir)).code).toBe(0);
  const status = JSON.parse((await runCli(['status', '--json'], env(), stack.dir)).stdout);
  const c = status.certificates[0];
  expect(c.ari.windowStart).toBe(start.toISOString());
  expect(Date.parse(c.dueAt)).toBeGreaterThanOrEqual(start.getTime());
  expect(Date.parse(c.dueAt)).toBeLessThanOrEqual(end.getTime());
});

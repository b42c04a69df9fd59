/** doctor's client-certificate lines over a real CA in a temp STATE_DIR and a given settings probe. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, issueClient, signCrl } from '../../src/clients/ca';
import { ClientCaStore } from '../../src/clients/store';
import type { Config } from '../../src/config/config';
import { checkClients } from '../../src/doctor/checks/clients';
import type { SettingsProbe } from '../../src/nodered/settings-probe';
import { clientPath } from '../../src/store/state-dir';

let stateDir: string;
beforeEach(() => {
  stateDir = mkdtempSync(join(tmpdir(), 'nrcert-clients-doctor-'));
});
afterEach(() => rmSync(stateDir, { recursive: true, force: true }));

const config = () => ({ stateDir }) as Config;
const NOW = new Date();
const probe = (clientCerts: SettingsProbe['clientCerts'], pemFiles: string[] = []): SettingsProbe => ({ path: '/x/settings.js', found: true, https: 'function', pemFiles, clientCerts });
const requireMode = { requestCert: true, rejectUnauthorized: true, ca: true, crl: true };
const byId = (results: Awaited<ReturnType<typeof checkClients>>) => Object.fromEntries(results.map((r) => [r.id, r]));

async function makeCa(): Promise<ClientCaStore> {
  const store = new ClientCaStore(stateDir);
  const ca = await createCa('example.test', NOW);
  store.create(ca, await signCrl(ca, [], 1, NOW));
  return store;
}

test('no CA and no client certificates in settings.js: no line at all', async () => {
  expect(await checkClients(config(), probe(null), NOW)).toEqual([]);
});

test('settings.js asks for client certificates without a CA: fails naming clients init', async () => {
  expect(await checkClients(config(), probe(requireMode), NOW)).toEqual([expect.objectContaining({ id: 'clients.ca', status: 'fail', fix: expect.stringContaining('nrcert clients init') })]);
});

test('a healthy require-mode set-up: CA, expiry, CRL and settings ok; the Docker healthcheck warning', async () => {
  await makeCa();
  const files = [clientPath(stateDir, 'caCert'), clientPath(stateDir, 'crl')];
  const results = byId(await checkClients(config(), probe(requireMode, files), NOW));
  expect(results['clients.ca'].status).toBe('ok');
  expect(results['clients.expiry'].status).toBe('ok');
  expect(results['clients.crl'].status).toBe('ok');
  expect(results['clients.settings']).toMatchObject({ status: 'ok', message: expect.stringContaining('require mode') });
  expect(results['clients.docker']).toMatchObject({ status: 'warn', message: expect.stringContaining('healthcheck') });
});

test('a certificate expiring within 30 days warns; a CRL not listing a revoked one fails; no client certs in settings.js warns', async () => {
  const store = await makeCa();
  const issued = await issueClient(store.ca(), 'phone', 10, NOW);
  const registry = store.registry();
  registry.clients.push({ name: 'phone', serial: issued.serial, notBefore: issued.notBefore.toISOString(), notAfter: issued.notAfter.toISOString(), revokedAt: null, p12: 'legacy' });
  registry.clients.push({ name: 'old', serial: '1234', notBefore: issued.notBefore.toISOString(), notAfter: issued.notAfter.toISOString(), revokedAt: NOW.toISOString(), p12: 'legacy' });
  writeFileSync(clientPath(stateDir, 'registry'), JSON.stringify(registry));
  const results = byId(await checkClients(config(), probe(null), NOW));
  expect(results['clients.expiry']).toMatchObject({ status: 'warn', message: expect.stringContaining('"phone" expires on') });
  expect(results['clients.crl']).toMatchObject({ status: 'fail', message: expect.stringContaining('"old"') });
  expect(results['clients.settings']).toMatchObject({ status: 'warn', fix: expect.stringContaining('--client-certs') });
  expect(results['clients.docker']).toBeUndefined();
});

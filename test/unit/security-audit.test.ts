/**
 * The Node-RED security audit of nrcert doctor on variants of Node-RED's own default settings.js
 * (node_modules/node-red/settings.js), each loaded in a child node as Node-RED would load it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { auditSecurity, installedDashboard } from '../../src/doctor/security-audit';
import { probeSettings, SAMPLE_PASSWORD_HASH, type SettingsProbe } from '../../src/nodered/settings-probe';
import type { CheckResult } from '../../src/doctor/types';
import { makeTempDir, removeTempDir } from './store/pki';

const DEFAULT_SETTINGS = readFileSync(join(__dirname, '..', '..', 'node_modules', 'node-red', 'settings.js'), 'utf8');
/** A bcrypt hash (of "test") from the docs of @alexandrainst/node-red-http-basic-auth. */
const REAL_HASH = '$2y$10$5TSZDldoJ7MxDZdtK/SG2O3cwORqLDhHabYlKX9OsM.W/Z/oLwKW6';
const SECRET = 'd5c1e0f4-my-own-credential-secret';

let tmp: string;
beforeEach(() => {
  tmp = makeTempDir('nrcert-audit-');
});
afterEach(() => removeTempDir(tmp));

/** Removes the `//` of the commented-out line `first` and, for a block, of the lines up to `//},`. */
function uncomment(text: string, first: string): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === first);
  if (start < 0) throw new Error(`no line "${first}" in Node-RED's settings.js`);
  let end = start;
  if (first.endsWith('{')) while (lines[end].trim() !== '//},') end++;
  for (let i = start; i <= end; i++) lines[i] = lines[i].replace('//', '');
  return lines.join('\n');
}

const ADMIN_AUTH = '//adminAuth: {';

async function audit(text: string, packageJson?: object): Promise<{ probe: SettingsProbe; byId: Record<string, CheckResult> }> {
  const path = join(tmp, 'settings.js');
  writeFileSync(path, text);
  if (packageJson) writeFileSync(join(tmp, 'package.json'), JSON.stringify(packageJson));
  const probe = await probeSettings(path);
  const results = auditSecurity(probe, { dashboard: await installedDashboard(tmp) });
  return { probe, byId: Object.fromEntries(results.map((r) => [r.id.replace('security.', ''), r])) };
}

it('the sample hash is exactly the one in Node-RED\'s default settings.js', () => {
  expect(DEFAULT_SETTINGS).toContain(`//        password: "${SAMPLE_PASSWORD_HASH}",`);
});

it('Node-RED\'s default settings.js as shipped: no adminAuth fails; all interfaces, no credentialSecret and no requireHttps warn', async () => {
  const { byId } = await audit(DEFAULT_SETTINGS);
  expect(byId.adminAuth).toMatchObject({ status: 'fail', message: 'adminAuth is not set: anyone who reaches the editor can run code on this machine' });
  expect(byId.adminAuth.fix).toContain('node-red admin hash-pw');
  expect(byId.uiHost).toMatchObject({ status: 'warn', message: expect.stringContaining('all IPv4 interfaces (uiHost is not set, so 0.0.0.0)') });
  expect(byId.credentialSecret).toMatchObject({ status: 'warn', message: expect.stringContaining('a key Node-RED generated and stored beside them') });
  expect(byId.requireHttps).toMatchObject({ status: 'warn', message: expect.stringContaining('redirects only the editor and admin API') });
  expect(byId.httpNodeAuth.status).toBe('ok');
  expect(byId.httpStaticAuth).toMatchObject({ status: 'ok', message: 'httpStatic is not set: no static files are served' });
});

it('adminAuth uncommented as shipped, with the sample hash of "password": fails', async () => {
  const { byId } = await audit(uncomment(DEFAULT_SETTINGS, ADMIN_AUTH));
  expect(byId.adminAuth).toMatchObject({ status: 'fail', message: 'adminAuth user admin has the example password ("password") from Node-RED\'s sample settings' });
});

it('adminAuth with a real bcrypt hash, credentialSecret, uiHost 127.0.0.1 and requireHttps: all ok, and no hash or secret leaves the child', async () => {
  let text = uncomment(DEFAULT_SETTINGS, ADMIN_AUTH).replace(SAMPLE_PASSWORD_HASH, () => REAL_HASH);
  text = uncomment(text, '//credentialSecret: "a-secret-key",').replace('"a-secret-key"', JSON.stringify(SECRET));
  text = uncomment(uncomment(text, '//uiHost: "127.0.0.1",'), '//requireHttps: true,');
  const { probe, byId } = await audit(text);
  for (const id of ['adminAuth', 'httpNodeAuth', 'httpStaticAuth', 'requireHttps', 'uiHost', 'credentialSecret']) expect(byId[id].status).toBe('ok');
  expect(byId.adminAuth.message).toBe('the editor asks for a login: 1 user with bcrypt password hashes');
  expect(byId.uiHost.message).toBe('Node-RED listens on 127.0.0.1 only (this machine, or a reverse proxy on it)');
  expect(byId.requireHttps.message).toContain('only requests that reach Node-RED as plain HTTP through a reverse proxy');
  const reported = JSON.stringify(probe);
  expect(reported).not.toContain(REAL_HASH);
  expect(reported).not.toContain(SECRET);
});

it('a password in clear, or anonymous full access: fails', async () => {
  const clear = uncomment(DEFAULT_SETTINGS, ADMIN_AUTH).replace(SAMPLE_PASSWORD_HASH, 'hunter2');
  expect((await audit(clear)).byId.adminAuth).toMatchObject({ status: 'fail', message: expect.stringContaining('is not a bcrypt hash') });
  const anonymous = uncomment(DEFAULT_SETTINGS, ADMIN_AUTH).replace(SAMPLE_PASSWORD_HASH, () => REAL_HASH).replace('adminAuth: {', 'adminAuth: { default: { permissions: "*" },');
  expect((await audit(anonymous)).byId.adminAuth).toMatchObject({ status: 'fail', message: expect.stringContaining('full access') });
});

it('the example credentialSecret, or none at all (false), warns', async () => {
  const sample = uncomment(DEFAULT_SETTINGS, '//credentialSecret: "a-secret-key",');
  expect((await audit(sample)).byId.credentialSecret).toMatchObject({ status: 'warn', message: expect.stringContaining('"a-secret-key", the example') });
  const off = sample.replace('credentialSecret: "a-secret-key"', 'credentialSecret: false');
  expect((await audit(off)).byId.credentialSecret).toMatchObject({ status: 'warn', message: expect.stringContaining('stored unencrypted') });
});

it('uiHost "0.0.0.0" warns, explaining that Node-RED then listens on every interface', async () => {
  const text = uncomment(DEFAULT_SETTINGS, '//uiHost: "127.0.0.1",').replace('uiHost: "127.0.0.1"', 'uiHost: "0.0.0.0"');
  expect((await audit(text)).byId.uiHost).toMatchObject({ status: 'warn', message: expect.stringContaining('every device that can reach this machine') });
});

it('the dashboard installed without httpNodeAuth fails on all interfaces, warns on loopback, passes with a bcrypt httpNodeAuth', async () => {
  const pkg = { dependencies: { '@flowfuse/node-red-dashboard': '^1.0.0' } };
  expect((await audit(DEFAULT_SETTINGS, pkg)).byId.httpNodeAuth).toMatchObject({
    status: 'fail', message: 'the dashboard (@flowfuse/node-red-dashboard) is served, with its controls, without a password to anyone who can reach this machine',
  });
  const loopback = uncomment(DEFAULT_SETTINGS, '//uiHost: "127.0.0.1",');
  expect((await audit(loopback, pkg)).byId.httpNodeAuth.status).toBe('warn');
  const sampleNodeAuth = uncomment(DEFAULT_SETTINGS, `//httpNodeAuth: {user:"user",pass:"${SAMPLE_PASSWORD_HASH}"},`);
  expect((await audit(sampleNodeAuth, pkg)).byId.httpNodeAuth).toMatchObject({ status: 'fail', message: expect.stringContaining('example password') });
  const realNodeAuth = sampleNodeAuth.replace(`httpNodeAuth: {user:"user",pass:"${SAMPLE_PASSWORD_HASH}"}`, () => `httpNodeAuth: {user:"user",pass:"${REAL_HASH}"}`);
  expect((await audit(realNodeAuth, pkg)).byId.httpNodeAuth).toMatchObject({ status: 'ok', message: 'the dashboard and HTTP-in endpoints ask for a password' });
});

it('httpStatic without httpStaticAuth fails; with a bcrypt httpStaticAuth it passes', async () => {
  const served = uncomment(DEFAULT_SETTINGS, "//httpStatic: '/home/nol/node-red-static/', //single static source");
  expect((await audit(served)).byId.httpStaticAuth).toMatchObject({ status: 'fail', message: 'the files in httpStatic are served without a password to anyone who can reach this machine' });
  const guarded = uncomment(served, `//httpStaticAuth: {user:"user",pass:"${SAMPLE_PASSWORD_HASH}"},`)
    .replace(`httpStaticAuth: {user:"user",pass:"${SAMPLE_PASSWORD_HASH}"}`, () => `httpStaticAuth: {user:"user",pass:"${REAL_HASH}"}`);
  expect((await audit(guarded)).byId.httpStaticAuth).toMatchObject({ status: 'ok', message: 'the static files (httpStatic) ask for a password' });
});

it('a switched-off editor needs no adminAuth; a settings.js that does not load skips the audit', async () => {
  const off = DEFAULT_SETTINGS.replace('module.exports = {', 'module.exports = {\n    httpAdminRoot: false,');
  expect((await audit(off)).byId.adminAuth).toMatchObject({ status: 'ok', message: expect.stringContaining('switched off') });
  const { byId } = await audit('module.exports = {');
  expect(Object.values(byId).map((r) => r.status)).toEqual(Array(6).fill('skip'));
});

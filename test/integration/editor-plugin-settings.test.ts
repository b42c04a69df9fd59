/**
 * `nrcert settings --apply --editor-plugin` on a real Node-RED user dir: the package folder is
 * installed with npm (offline, a copy, recorded in the user dir's package.json), settings.js gets
 * the `nrcert: { editorDir }` block, EDITOR_DIR is created and published, and a real Node-RED 4
 * then loads the package and sees the editorDir in its settings (a minimal package written by the
 * test); then the shipped package (deploy/node-red) end to end: its admin API answers what nrcert
 * published, and its Renew now makes a running `nrcert run` renew.
 */
import { existsSync, lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, SENTINEL_TOKEN, startCli, startStack, stopCli, type Stack } from '../helpers/cli';
import { adminCall, adminToken, USERS } from '../helpers/nrcert-editor';
import { prepareUserDir, startNodeRed, type NodeRedInstance } from '../helpers/nodered';
import { waitFor } from '../helpers/wait';

let stack: Stack;
let nodeRed: NodeRedInstance | undefined;
beforeAll(async () => {
  stack = await startStack();
});
afterEach(async () => {
  await nodeRed?.stop();
  nodeRed = undefined;
});
afterAll(async () => {
  await stack?.stop();
});

/** A Node-RED plugin package that, when Node-RED loads it, writes what settings.nrcert holds into its user dir. */
function minimalPackage(dir: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({
    name: 'node-red-contrib-nrcert', version: '0.0.1-test', 'node-red': { version: '>=4', plugins: { 'nrcert-probe': 'plugin.js' } },
  }));
  writeFileSync(join(dir, 'plugin.js'), [
    'module.exports = function (RED) {',
    "  require('fs').writeFileSync(require('path').join(RED.settings.userDir, 'probe.json'), JSON.stringify({ nrcert: RED.settings.nrcert }));",
    "  RED.plugins.registerPlugin('nrcert-probe', { type: 'nrcert-probe' });",
    '};',
    '',
  ].join('\n'));
  return dir;
}

test('installs the package into a real Node-RED user dir, points settings.js at EDITOR_DIR, and Node-RED loads it', async () => {
  const userDir = join(stack.dir, 'node-red');
  mkdirSync(userDir);
  const settingsPath = prepareUserDir(userDir);
  const certDir = join(userDir, 'certs');
  const env = stack.env({ CERT_DIR: certDir, STATE_DIR: join(stack.dir, 'state'), NODE_RED_USER_DIR: userDir });
  expect((await runCli(['renew'], env, stack.dir)).code).toBe(0);
  const pkg = minimalPackage(join(stack.dir, 'package'));

  const applied = await runCli(['settings', '--apply', '--editor-plugin', '--editor-plugin-from', pkg], env, stack.dir);
  expect(applied.stderr).toBe('');
  expect(applied.code).toBe(0);
  expect(applied.stdout).toMatch(/Installed node-red-contrib-nrcert from .* \(npm, offline\)/);
  const installed = join(userDir, 'node_modules', 'node-red-contrib-nrcert');
  expect(lstatSync(installed).isDirectory()).toBe(true); // a copy, not a link into nrcert's folder
  expect(JSON.parse(readFileSync(join(userDir, 'package.json'), 'utf8')).dependencies).toHaveProperty('node-red-contrib-nrcert');
  const editorDir = join(certDir, 'editor');
  const settings = readFileSync(settingsPath, 'utf8');
  expect(settings).toContain(`nrcert: { editorDir: ${JSON.stringify(editorDir)} },`);
  expect(settings.match(/\/\/ nrcert: editor begin/g)).toHaveLength(1);
  expect(existsSync(join(editorDir, 'status.json')) && existsSync(join(editorDir, 'requests'))).toBe(true);

  // Again: nothing to change in settings.js (npm is run again, harmlessly).
  const again = await runCli(['settings', '--apply', '--editor-plugin', '--editor-plugin-from', pkg], env, stack.dir);
  expect(again.code).toBe(0);
  expect(again.stdout).toMatch(/already points the editor at/);
  expect(readFileSync(settingsPath, 'utf8')).toBe(settings);

  nodeRed = await startNodeRed({ userDir });
  await nodeRed.waitForTls(60_000);
  await waitFor(() => existsSync(join(userDir, 'probe.json')), 30_000, { what: 'the plugin loaded by Node-RED' });
  expect(JSON.parse(readFileSync(join(userDir, 'probe.json'), 'utf8'))).toEqual({ nrcert: { editorDir } });
  expect(nodeRed.readLog()).not.toMatch(/\[error\]|\[warn\].*nrcert/);
}, 180_000);

test('refuses --editor-plugin without --apply, and a package folder without package.json', async () => {
  const env = stack.env({ CERT_DIR: join(stack.dir, 'c2'), STATE_DIR: join(stack.dir, 's2') });
  const withoutApply = await runCli(['settings', '--editor-plugin'], env, stack.dir);
  expect(withoutApply.code).toBe(2);
  const userDir = join(stack.dir, 'nr2');
  mkdirSync(userDir);
  const settingsPath = prepareUserDir(userDir);
  mkdirSync(join(stack.dir, 'c2'));
  const before = readFileSync(settingsPath, 'utf8');
  const empty = join(stack.dir, 'empty-package');
  mkdirSync(empty);
  const refused = await runCli(['settings', '--apply', '--editor-plugin', '--editor-plugin-from', empty, '--settings', settingsPath], env, stack.dir);
  expect(refused.code).toBe(8);
  expect(refused.stderr).toMatch(/has no package\.json/);
  expect(readFileSync(settingsPath, 'utf8')).toBe(before); // checked before anything was written
}, 60_000);

test('the shipped package: its admin API serves what nrcert published, and Renew now makes `nrcert run` renew', async () => {
  const userDir = join(stack.dir, 'node-red-shipped');
  mkdirSync(userDir);
  const settingsPath = prepareUserDir(userDir);
  writeFileSync(settingsPath, readFileSync(settingsPath, 'utf8').replace('module.exports = {', 'module.exports = {\n    credentialSecret: "test-credential-secret",'));
  const certDir = join(userDir, 'certs');
  const env = stack.env({ CERT_DIR: certDir, STATE_DIR: join(stack.dir, 'state-shipped'), NODE_RED_USER_DIR: userDir, RENEW_SCHEDULE: '0 0 1 1 *', RENEW_START_DELAY: '86400' });
  expect((await runCli(['renew'], env, stack.dir)).code).toBe(0);
  const passwordFile = join(stack.dir, 'admin-password');
  writeFileSync(passwordFile, `${USERS.admin.password}\n`);
  const applied = await runCli(['settings', '--apply', '--editor-plugin', '--admin-user', 'admin', '--admin-password-file', passwordFile], env, stack.dir);
  expect(applied.code).toBe(0);
  expect(applied.stdout).toMatch(/Installed node-red-contrib-nrcert from .*deploy\/node-red/);
  const service = startCli(['run'], env, stack.dir);
  try {
    nodeRed = await startNodeRed({ userDir });
    await nodeRed.waitForTls(60_000);
    const editorDir = join(certDir, 'editor');
    await waitFor(() => existsSync(join(editorDir, 'status.json')), 20_000, { what: 'status.json' });
    expect((await adminCall(nodeRed, '/nrcert/status')).status).toBe(401);
    const token = await adminToken(nodeRed, 'admin');
    const status = await adminCall(nodeRed, '/nrcert/status', { token });
    expect(status.status).toBe(200);
    const published = JSON.parse(readFileSync(join(editorDir, 'status.json'), 'utf8')) as { status: { certificates: Array<{ serial: string }> } };
    expect(status.json()).toEqual(published.status);
    const before = published.status.certificates[0].serial;

    const asked = Date.now();
    const renew = await adminCall(nodeRed, '/nrcert/renew', { method: 'POST', token });
    expect(renew.status).toBe(202);
    const id = renew.json().id as string;
    await waitFor(async () => (await adminCall(nodeRed!, `/nrcert/jobs/${id}`, { token })).json().state === 'succeeded', 60_000, { intervalMs: 250, what: 'the Renew now job succeeded' });
    console.log(`Renew now through Node-RED's admin API -> job succeeded in ${Date.now() - asked} ms`);
    const after = (await adminCall(nodeRed, '/nrcert/status', { token })).json() as { certificates: Array<{ serial: string }> };
    expect(after.certificates[0].serial).not.toBe(before);
    const again = await adminCall(nodeRed, '/nrcert/renew', { method: 'POST', token });
    await waitFor(async () => (await adminCall(nodeRed!, `/nrcert/jobs/${again.json().id}`, { token })).json().state === 'refused', 20_000, { what: 'the second Renew now refused' });
    expect((await adminCall(nodeRed, `/nrcert/jobs/${again.json().id}`, { token })).json().message).toMatch(/next renewal from the editor is possible from/);
    expect(nodeRed.readLog()).not.toContain(SENTINEL_TOKEN);
    expect(nodeRed.readLog().split('\n').filter((l) => /\[(warn|error)\]/.test(l) && /nrcert/i.test(l))).toEqual([]);
  } finally {
    const result = await stopCli(service);
    expect(result.code).toBe(0);
  }
}, 240_000);

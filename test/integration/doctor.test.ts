/**
 * `nrcert doctor` run as a user runs it (the built CLI), against Pebble + challtestsrv + the
 * Cloudflare fake and a real Node-RED (each release the running Node can start: 4, and 5 from
 * Node 22.9, on that release's own default settings.js): all green on a healthy set-up, then each
 * broken set-up named with its fix and a non-zero exit.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileCertStore } from '../../src/store/cert-dir';
import type { CheckResult } from '../../src/doctor/types';
import { CLI_HINT, runCli, SENTINEL_TOKEN, startStack, type CliResult, type Stack } from '../helpers/cli';
import { insertIntoSettings, nodeRedReleases, prepareUserDir, startNodeRed, type NodeRedInstance, type NodeRedRelease } from '../helpers/nodered';

/** A bcrypt hash (of "test") from the docs of @alexandrainst/node-red-http-basic-auth. */
const BCRYPT_HASH = '$2y$10$5TSZDldoJ7MxDZdtK/SG2O3cwORqLDhHabYlKX9OsM.W/Z/oLwKW6';
const HARDENING = `    adminAuth: { type: "credentials", users: [{ username: "admin", password: "${BCRYPT_HASH}", permissions: "*" }] },
    credentialSecret: "doctor-test-credential-secret",`;

describe.each(nodeRedReleases(__filename))('with $name', (release: NodeRedRelease) => {
  let stack: Stack;
  let nodeRed: NodeRedInstance | undefined;
  let userDir: string;
  let certDir: string;
  let settingsPath: string;

  function nrcert(args: string[], overrides: Record<string, string | undefined> = {}): Promise<CliResult> {
    return runCli(args, stack.env({ CERT_DIR: certDir, NODE_RED_USER_DIR: userDir, NODE_RED_URL: nodeRed?.url, ...overrides }), stack.dir);
  }

  async function doctor(args: string[] = []): Promise<{ result: CliResult; report: { ok: boolean; checks: CheckResult[] }; byId: Record<string, CheckResult> }> {
    const result = await nrcert(['doctor', '--json', ...args]);
    expect(`${result.stdout}${result.stderr}`).not.toContain(SENTINEL_TOKEN);
    const report = JSON.parse(result.stdout) as { ok: boolean; checks: CheckResult[] };
    return { result, report, byId: Object.fromEntries(report.checks.map((c) => [c.id, c])) };
  }

  /** A copy of settings.js (another file, so the real one stays healthy) changed by `edit`. */
  function settingsVariant(name: string, edit: (text: string) => string): string {
    const path = join(stack.dir, name, 'settings.js');
    mkdirSync(join(stack.dir, name), { recursive: true });
    writeFileSync(path, edit(readFileSync(settingsPath, 'utf8')));
    return path;
  }

  beforeAll(async () => {
    stack = await startStack();
    userDir = join(stack.dir, 'node-red');
    certDir = join(userDir, 'certs');
    mkdirSync(userDir, { recursive: true });
    settingsPath = prepareUserDir(userDir, release);
    insertIntoSettings(settingsPath, HARDENING);
    expect((await nrcert(['settings', '--apply', '--settings', settingsPath])).code).toBe(0);
    const renewed = await nrcert(['renew', '--scheduled']);
    expect(renewed.code).toBe(0);
    nodeRed = await startNodeRed({ userDir, release });
    await nodeRed.waitForTls(20_000);
  }, 60_000);

  afterAll(async () => {
    await nodeRed?.stop();
    await stack?.stop();
  });

  test('a healthy set-up: every check passes (the service may be skipped without systemd), exit 0', async () => {
    const { result, report } = await doctor();
    const notOk = report.checks.filter((c) => c.status !== 'ok' && !(c.id === 'service' && c.status === 'skip'));
    expect(notOk).toEqual([]);
    expect(report.ok).toBe(true);
    expect(result.code).toBe(0);
    expect(report.checks.map((c) => c.id)).toEqual([
      'config', 'cloudflare.token-kind', 'cloudflare.token-active', 'cloudflare.zone-visible', 'cloudflare.dns-edit', 'cloudflare.caa',
      'dns', 'delegation', 'acme', 'clock', 'permissions', 'certificate', 'settings', 'settings.refresh', 'nodered', 'service', 'last-run',
      'security.adminAuth', 'security.httpNodeAuth', 'security.httpStaticAuth', 'security.requireHttps', 'security.uiHost', 'security.credentialSecret',
    ]);
    expect(stack.fake.records().filter((r) => r.type === 'TXT')).toEqual([]);

    const text = await nrcert(['doctor']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^✓ config /m);
    expect(text.stdout).toMatch(/^✓ nodered +Node-RED at https:\/\/127\.0\.0\.1:\d+ serves the installed certificate$/m);
    expect(text.stdout).toMatch(/No check failed/);
  }, 30_000);

  test('a private key readable by everyone: permissions fails with "chmod 600 <key>", exit 1', async () => {
    const key = realpathSync(join(certDir, 'privkey.pem'));
    chmodSync(key, 0o644);
    try {
      const { result, byId } = await doctor();
      expect(result.code).toBe(1);
      expect(byId.permissions).toMatchObject({ status: 'fail', message: expect.stringContaining('readable by every user'), fix: `chmod 600 ${key}` });
      const text = await nrcert(['doctor']);
      expect(text.stdout).toContain(`✗ permissions`);
      expect(text.stdout).toContain(`fix: chmod 600 ${key}`);
    } finally {
      chmodSync(key, 0o600);
    }
  }, 30_000);

  test('an expired certificate: certificate fails with "nrcert renew", exit 1', async () => {
    const store = new FileCertStore(certDir);
    const before = (await store.current())!.id;
    await store.install(expiredSet(join(stack.dir, 'expired-ca')));
    try {
      const { result, byId } = await doctor();
      expect(result.code).toBe(1);
      expect(byId.certificate).toMatchObject({ status: 'fail', message: expect.stringMatching(/expired at 2024-04-01T00:00:00/), fix: expect.stringMatching(new RegExp(`^${CLI_HINT} renew`)) });
    } finally {
      await store.switchTo(before);
    }
  }, 30_000);

  test('settings.js reading another folder: settings fails with the --apply fix, exit 1', async () => {
    const elsewhere = join(stack.dir, 'elsewhere');
    mkdirSync(elsewhere);
    // copyFileSync follows the links; cpSync's dereference misreads a link to a file as a directory on Node 22/24 (nodejs/node#58939).
    for (const name of ['privkey.pem', 'fullchain.pem']) copyFileSync(join(certDir, name), join(elsewhere, name));
    const variant = settingsVariant('other-settings', (t) => t.replace(JSON.stringify(certDir), JSON.stringify(elsewhere)));
    const { result, byId } = await doctor(['--settings', variant]);
    expect(result.code).toBe(1);
    expect(byId.settings).toMatchObject({ status: 'fail', message: expect.stringContaining(`outside CERT_DIR ${certDir}`), fix: expect.stringMatching(new RegExp(`^${CLI_HINT} settings --apply --settings ${variant.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`)) });
  }, 30_000);

  test('settings.js without adminAuth: the security audit fails adminAuth, exit 1', async () => {
    const variant = settingsVariant('open-settings', (t) => t.replace(HARDENING, ''));
    const { result, byId } = await doctor(['--settings', variant]);
    expect(result.code).toBe(1);
    expect(byId['security.adminAuth']).toMatchObject({
      status: 'fail', message: 'adminAuth is not set: anyone who reaches the editor can run code on this machine', fix: expect.stringContaining('node-red admin hash-pw'),
    });
    expect(byId['security.credentialSecret'].status).toBe('warn');
    expect(byId.settings.status).toBe('ok');
  }, 30_000);
});

/**
 * A certificate for DOMAINS that expired on 2024-04-01, issued by a throwaway CA with
 * `openssl ca` (which, unlike `openssl x509` in OpenSSL 3.0, takes explicit dates).
 */
function expiredSet(dir: string): { privkey: string; cert: string; chain: string; fullchain: string } {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '01\n');
  writeFileSync(join(dir, 'ca.cnf'), '[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\ndefault_md = sha256\n' +
    'policy = p\ncopy_extensions = copy\nunique_subject = no\n[p]\ncommonName = supplied\n');
  const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(['req', '-x509', ...ec, '-days', '3650', '-subj', '/CN=expired test CA', '-keyout', 'ca.key', '-out', 'ca.pem']);
  openssl(['req', '-new', ...ec, '-subj', '/CN=example.test', '-addext', 'subjectAltName=DNS:example.test,DNS:*.example.test', '-keyout', 'leaf.key', '-out', 'leaf.csr']);
  openssl(['ca', '-batch', '-config', 'ca.cnf', '-cert', 'ca.pem', '-keyfile', 'ca.key', '-in', 'leaf.csr', '-out', 'leaf.pem', '-notext',
    '-startdate', '20240101000000Z', '-enddate', '20240401000000Z']);
  const read = (name: string) => readFileSync(join(dir, name), 'utf8');
  return { privkey: read('leaf.key'), cert: read('leaf.pem'), chain: read('ca.pem'), fullchain: read('leaf.pem') + read('ca.pem') };
}

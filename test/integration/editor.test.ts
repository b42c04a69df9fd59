/**
 * The Node-RED editor's side of nrcert (issue #14), through the real CLI against Pebble and the
 * Cloudflare fake: what is published into EDITOR_DIR (files, modes, group, never a secret), and
 * the spool: a renew request makes a running `nrcert run` renew within seconds, a second one
 * meanwhile is refused politely, malformed requests are refused with one log line each and change
 * nothing, and the one-shot `nrcert editor process` handles renewals and client certificates.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { runCli, SENTINEL_TOKEN, startCli, startStack, stopCli, type CliResult, type Stack } from '../helpers/cli';
import { waitFor } from '../helpers/wait';

let stack: Stack;
const NOTIFY_SECRET = 'notify-path-SECRET-7c1d9e';

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

/** A fresh CERT_DIR/STATE_DIR/EDITOR_DIR set for one test. */
function setup(name: string, extra: Record<string, string> = {}) {
  const base = join(stack.dir, name);
  mkdirSync(base, { recursive: true });
  const certDir = join(base, 'certs');
  const editorDir = join(certDir, 'editor');
  const env = stack.env({
    CERT_DIR: certDir, STATE_DIR: join(base, 'state'), EDITOR_DIR: editorDir,
    // Nothing listens there: the notification fails (logged), but its URL must never be published.
    NOTIFY_URL: `http://127.0.0.1:9/${NOTIFY_SECRET}`,
    RENEW_SCHEDULE: '0 0 1 1 *', RENEW_START_DELAY: '86400', ...extra,
  });
  return { base, certDir, editorDir, requests: join(editorDir, 'requests'), env };
}

const mode = (path: string) => statSync(path).mode & 0o7777;
const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;
const served = (certDir: string) => new X509Certificate(readFileSync(join(certDir, 'cert.pem'))).fingerprint256;

interface Job { id: string; action: string; state: string; message: string; download?: string }
const jobs = (editorDir: string): Job[] => (existsSync(join(editorDir, 'jobs.json')) ? readJson<{ jobs: Job[] }>(join(editorDir, 'jobs.json')).jobs : []);
const job = (editorDir: string, id: string) => jobs(editorDir).find((j) => j.id === id);

/** Writes a request the way the plugin does: `<id>.json.tmp`, then renamed. */
function request(requests: string, id: string, body: Record<string, unknown>): void {
  const tmp = join(requests, `${id}.json.tmp`);
  writeFileSync(tmp, JSON.stringify({ version: 1, id, ...body }), { mode: 0o640 });
  require('node:fs').renameSync(tmp, join(requests, `${id}.json`));
}

/** Every file under `dir`, with its text. */
function allFiles(dir: string): Array<{ path: string; text: string }> {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name))
    .map((path) => ({ path, text: readFileSync(path, 'latin1') }));
}

function expectNoSecret(editorDir: string, certDir: string, extra: string[] = []): void {
  const key = readFileSync(join(certDir, 'privkey.pem'), 'utf8');
  const keyBody = key.split('\n').filter((l) => l && !l.startsWith('-----')).join('');
  for (const { path, text } of allFiles(editorDir).filter((f) => !f.path.endsWith('.p12'))) {
    for (const secret of [SENTINEL_TOKEN, NOTIFY_SECRET, keyBody.slice(0, 40), 'PRIVATE KEY', ...extra]) {
      expect({ path, found: text.includes(secret) ? secret : null }).toEqual({ path, found: null });
    }
  }
}

test('renew --force, doctor and clients publish status, events, doctor and clients: modes, group, no secret', async () => {
  const s = setup('publish');
  expect((await runCli(['clients', 'init'], s.env, s.base)).code).toBe(0);
  const renewed = await runCli(['renew', '--force'], s.env, s.base);
  expect(renewed.code).toBe(0);
  const doctor = await runCli(['doctor', '--json'], s.env, s.base);
  expect(doctor.stdout).toContain('"checks"');
  const status = await runCli(['status', '--json'], s.env, s.base);

  expect(mode(s.editorDir)).toBe(0o750);
  expect(mode(s.requests)).toBe(0o3770);
  const group = statSync(s.certDir).gid;
  for (const name of ['status.json', 'events.json', 'doctor.json', 'clients.json']) {
    const path = join(s.editorDir, name);
    expect({ name, mode: mode(path), gid: statSync(path).gid }).toEqual({ name, mode: 0o640, gid: group });
    expect(readJson<{ version: number }>(path).version).toBe(1);
  }
  expect(statSync(s.requests).gid).toBe(group);
  const published = readJson<{ status: unknown; service: { lastRun: { outcome: string } } }>(join(s.editorDir, 'status.json'));
  expect(published.status).toEqual(JSON.parse(status.stdout));
  expect(published.service.lastRun.outcome).toBe('renewed');
  const events = readJson<{ events: Array<{ type: string; notAfter: string }> }>(join(s.editorDir, 'events.json')).events;
  expect(events.map((e) => e.type)).toEqual(['renewed']);
  const doctorJson = readJson<{ ok: boolean; checks: Array<{ id: string }>; audit: Array<{ id: string }> }>(join(s.editorDir, 'doctor.json'));
  expect(doctorJson.checks).toEqual(JSON.parse(doctor.stdout).checks);
  expect(doctorJson.audit.length).toBeGreaterThan(0);
  expect(doctorJson.audit.every((c) => c.id.startsWith('security.'))).toBe(true);
  expect(readJson<{ clients: unknown[] }>(join(s.editorDir, 'clients.json')).clients).toEqual([]);
  expectNoSecret(s.editorDir, s.certDir);
}, 90_000);

test('a running `nrcert run` renews on a request within seconds, refuses a second one politely and every malformed one', async () => {
  const s = setup('service');
  expect((await runCli(['renew'], s.env, s.base)).code).toBe(0);
  const before = served(s.certDir);
  // What the service loaded and formatted, written at its exit (as by each renewal child, by pid).
  const probe = join(s.base, 'probe');
  const service = startCli(['run'], { ...s.env, NODE_OPTIONS: `--require ${join(__dirname, '..', 'helpers', 'idle-probe.js')}`, NRCERT_IDLE_PROBE: probe }, s.base);
  let result: CliResult | undefined;
  try {
    await waitFor(() => existsSync(join(s.editorDir, 'status.json')) && existsSync(s.requests), 20_000, { what: 'the service publishing status.json' });
    // Malformed requests first: each is refused with one line naming the file, removed, nothing done.
    const bad: Record<string, () => void> = {
      'short.json': () => writeFileSync(join(s.requests, 'short.json'), '{}'),
      'bad name!.json': () => writeFileSync(join(s.requests, 'bad name!.json'), '{}'),
      'toolarge-0001.json': () => writeFileSync(join(s.requests, 'toolarge-0001.json'), JSON.stringify({ version: 1, id: 'toolarge-0001', action: 'renew', pad: 'x'.repeat(5000) })),
      'notjson-0002.json': () => writeFileSync(join(s.requests, 'notjson-0002.json'), 'renew please'),
      'unknown-action-0003.json': () => request(s.requests, 'unknown-action-0003', { action: 'reboot' }),
      'unknown-field-0004.json': () => request(s.requests, 'unknown-field-0004', { action: 'renew', force: true }),
      'mismatch-0005.json': () => writeFileSync(join(s.requests, 'mismatch-0005.json'), JSON.stringify({ version: 1, id: 'other-id-0005', action: 'renew' })),
      'link-00000006.json': () => { writeFileSync(join(s.base, 'target.json'), JSON.stringify({ version: 1, id: 'link-00000006', action: 'renew' })); symlinkSync(join(s.base, 'target.json'), join(s.requests, 'link-00000006.json')); },
      'hardlink-0007.json': () => { writeFileSync(join(s.base, 'hard.json'), JSON.stringify({ version: 1, id: 'hardlink-0007', action: 'renew' })); linkSync(join(s.base, 'hard.json'), join(s.requests, 'hardlink-0007.json')); },
    };
    for (const make of Object.values(bad)) make();
    const readableIds = ['toolarge-0001', 'notjson-0002', 'unknown-action-0003', 'unknown-field-0004', 'mismatch-0005', 'link-00000006', 'hardlink-0007'];
    await waitFor(() => Object.keys(bad).every((name) => !existsSync(join(s.requests, name))) && readableIds.every((id) => job(s.editorDir, id)), 20_000, { what: 'every malformed request removed and its job recorded' });
    expect(served(s.certDir)).toBe(before);
    for (const id of readableIds) {
      expect({ id, state: job(s.editorDir, id)?.state }).toEqual({ id, state: 'refused' });
    }
    expect(existsSync(join(s.base, 'target.json')) && existsSync(join(s.base, 'hard.json'))).toBe(true);

    // A well-formed renewal: the service renews within seconds; a second request meanwhile is refused.
    const asked = Date.now();
    request(s.requests, 'renew-first-0001', { action: 'renew' });
    await waitFor(() => job(s.editorDir, 'renew-first-0001')?.state === 'running', 10_000, { what: 'the renewal job running' });
    request(s.requests, 'renew-second-0002', { action: 'renew' });
    await waitFor(() => job(s.editorDir, 'renew-second-0002')?.state === 'refused', 10_000, { what: 'the second request refused' });
    expect(job(s.editorDir, 'renew-second-0002')?.message).toMatch(/already running/);
    await waitFor(() => served(s.certDir) !== before, 30_000, { what: 'a new certificate served' });
    const renewedWithinMs = Date.now() - asked;
    await waitFor(() => job(s.editorDir, 'renew-first-0001')?.state === 'succeeded', 60_000, { what: 'the renewal job succeeded' });
    expect(job(s.editorDir, 'renew-first-0001')?.message).toMatch(/renewed; it is valid until/);
    // And again right after: within EDITOR_RENEW_INTERVAL, refused with the time it is possible again.
    request(s.requests, 'renew-third-0003', { action: 'renew' });
    await waitFor(() => job(s.editorDir, 'renew-third-0003')?.state === 'refused', 15_000, { what: 'the third request refused' });
    expect(job(s.editorDir, 'renew-third-0003')?.message).toMatch(/next renewal from the editor is possible from \d{4}-/);
    const events = readJson<{ events: Array<{ type: string }> }>(join(s.editorDir, 'events.json')).events.filter((e) => e.type === 'renewed');
    expect(events).toHaveLength(2); // the `renew` before the service, and the editor's one: no more
    console.log(`editor renew request -> new certificate served in ${renewedWithinMs} ms`);
    expect(renewedWithinMs).toBeLessThan(30_000);
  } finally {
    result = await stopCli(service);
  }
  expect(result.code).toBe(0);
  for (const name of ['short.json', 'bad name!.json', 'toolarge-0001.json', 'notjson-0002.json', 'unknown-action-0003.json', 'unknown-field-0004.json', 'mismatch-0005.json', 'link-00000006.json', 'hardlink-0007.json']) {
    const lines = result.stderr.split('\n').filter((l) => l.includes(`editor request ${name} refused`));
    expect({ name, lines: lines.length }).toEqual({ name, lines: 1 });
  }
  // The service itself never loaded the ACME library or the Cloudflare SDK (its renewal children did).
  const report = readJson<{ modules: string[]; builtins: string[]; dateFormatting: string[] }>(`${probe}.${service.child.pid}`);
  const modules = [...report.modules, ...report.builtins.map((b) => `builtin:${b}`)];
  // (From the installed package, dist/<folder>/modules.js holds a folder's modules, deploy/package/pack-folders.js: a
  // folder's file is read when one of its modules is needed, and only that module runs.)
  expect(modules.some((m) => m.endsWith(join('dist', 'editor', 'processor.js')) || m.endsWith(join('dist', 'editor', 'modules.js')))).toBe(true);
  // Reading the provider's settings (dns/cloudflare/config) is part of loading the configuration; talking to it is not.
  expect(modules.filter((m) => /node_modules[\\/](acme-client|cloudflare)[\\/]|[\\/]vendor[\\/](acme-client|axios|cloudflare)\.js$/.test(m) ||
    /[\\/]dist[\\/](dns[\\/]cloudflare[\\/](provider|sdk|token-check|fetch|errors|modules)|acme[\\/](issuer|order|account))\.js$/.test(m))).toEqual([]);
  // Nor HTTP, TLS or fs/promises (readline with it): the editor's status reads the saved ARI
  // window, never asks the CA; every built-in loaded stays resident.
  expect(modules.filter((m) => /^builtin:(https|tls|_http_client|fs\/promises|readline)$/.test(m))).toEqual([]);
  // Nor a Date formatted by V8: its first toISOString reads ICU's zone names (src/util/iso-time.ts).
  expect(report.dateFormatting).toEqual([]);
  expect(result.stderr).not.toContain(SENTINEL_TOKEN);
  expectNoSecret(s.editorDir, s.certDir);
}, 180_000);

test('`nrcert editor process` handles a renewal, then client-add (a .p12 with the chosen password) and client-revoke', async () => {
  const s = setup('oneshot', { EDITOR_RENEW_INTERVAL: '0' });
  expect((await runCli(['renew'], s.env, s.base)).code).toBe(0);
  expect((await runCli(['clients', 'init'], s.env, s.base)).code).toBe(0);
  expect((await runCli(['editor', 'init'], s.env, s.base)).code).toBe(0);
  const before = served(s.certDir);
  request(s.requests, 'oneshot-renew-01', { action: 'renew' });
  const first = await runCli(['editor', 'process'], s.env, s.base);
  expect(first.code).toBe(0);
  expect(job(s.editorDir, 'oneshot-renew-01')?.state).toBe('succeeded');
  expect(served(s.certDir)).not.toBe(before);
  expect(readdirSync(s.requests)).toEqual([]);

  const password = 'editor-chosen-PASSWORD-51ab';
  request(s.requests, 'oneshot-add-0002', { action: 'client-add', name: 'phone', password });
  const added = await runCli(['editor', 'process'], s.env, s.base);
  expect(added.code).toBe(0);
  const addJob = job(s.editorDir, 'oneshot-add-0002')!;
  expect(addJob).toMatchObject({ state: 'succeeded', download: 'oneshot-add-0002.p12' });
  const p12 = join(s.requests, 'oneshot-add-0002.p12');
  expect(mode(p12)).toBe(0o640);
  expect(statSync(p12).gid).toBe(statSync(s.certDir).gid);
  const opened = spawnSync('openssl', ['pkcs12', '-in', p12, '-passin', `pass:${password}`, '-nokeys', '-clcerts'], { encoding: 'utf8' });
  expect(opened.stdout).toContain('BEGIN CERTIFICATE');
  const wrong = spawnSync('openssl', ['pkcs12', '-in', p12, '-passin', 'pass:wrong-password', '-nokeys'], { encoding: 'utf8' });
  expect(wrong.status).not.toBe(0);
  const clients = readJson<{ clients: Array<{ name: string; serial: string; revoked: boolean }> }>(join(s.editorDir, 'clients.json')).clients;
  expect(clients.map((c) => [c.name, c.revoked])).toEqual([['phone', false]]);

  request(s.requests, 'oneshot-revoke-03', { action: 'client-revoke', serial: clients[0].serial.toUpperCase() });
  expect((await runCli(['editor', 'process'], s.env, s.base)).code).toBe(0);
  expect(job(s.editorDir, 'oneshot-revoke-03')?.state).toBe('succeeded');
  expect(readJson<{ clients: Array<{ revoked: boolean }> }>(join(s.editorDir, 'clients.json')).clients[0].revoked).toBe(true);
  const list = JSON.parse((await runCli(['clients', 'list', '--json'], s.env, s.base)).stdout) as { clients: unknown[] };
  expect(readJson<{ clients: unknown[] }>(join(s.editorDir, 'clients.json')).clients).toEqual(list.clients);

  // The password is in no published file, no job and no log line.
  expectNoSecret(s.editorDir, s.certDir, [password]);
  for (const out of [first, added]) expect(`${out.stdout}${out.stderr}`).not.toContain(password);
  expect(readFileSync(join(s.base, 'state', 'clients', 'clients.json'), 'utf8')).not.toContain(password);
}, 120_000);

test('a service started before the editor folder existed takes it up once `nrcert editor init` (or settings --apply --editor-plugin) creates it', async () => {
  const s = setup('later', { EDITOR_DIR: '' });
  expect((await runCli(['renew'], s.env, s.base)).code).toBe(0);
  const before = served(s.certDir);
  const service = startCli(['run'], s.env, s.base);
  let result: CliResult | undefined;
  try {
    await waitFor(() => existsSync(join(s.base, 'state', 'service.lock')), 10_000, { what: 'the service running' });
    expect(existsSync(s.editorDir)).toBe(false);
    expect((await runCli(['editor', 'init'], s.env, s.base)).code).toBe(0);
    request(s.requests, 'later-renew-0001', { action: 'renew' });
    // The service looks for the folder every 10 s, then takes the request at once.
    await waitFor(() => job(s.editorDir, 'later-renew-0001')?.state === 'succeeded', 45_000, { intervalMs: 250, what: 'the request handled by the running service' });
    expect(served(s.certDir)).not.toBe(before);
  } finally {
    result = await stopCli(service);
  }
  expect(result.code).toBe(0);
  expect(result.stderr).toMatch(/watching the editor's requests/);
}, 120_000);

test('a stop of `nrcert editor process` (systemctl stop: SIGTERM to it alone) reaches its renewal child, which removes its TXT records; exit 130', async () => {
  // Nothing answers at DNS_RESOLVERS, so the renewal waits for propagation with its records published.
  const s = setup('oneshot-stop', { EDITOR_RENEW_INTERVAL: '0', DNS_RESOLVERS: '127.0.0.1:9', DNS_PROPAGATION_TIMEOUT: '120' });
  mkdirSync(s.certDir, { recursive: true });
  const init = await runCli(['editor', 'init'], s.env, s.base);
  expect({ code: init.code, stderr: init.stderr }).toEqual({ code: 0, stderr: init.stderr });
  request(s.requests, 'stop-renew-0001', { action: 'renew' });
  const editor = startCli(['editor', 'process'], s.env, s.base);
  const txt = () => stack.fake.records().filter((r) => r.type === 'TXT' && r.name === '_acme-challenge.example.test');
  try {
    await waitFor(() => txt().length === 2, 40_000, { what: 'the renewal child\'s two TXT records' });
    editor.child.kill('SIGTERM'); // KillMode=mixed: systemd signals the main process only
    const result = await editor.done;
    expect(result.code).toBe(130);
    expect(txt()).toEqual([]);
    expect(job(s.editorDir, 'stop-renew-0001')?.state).toBe('failed');
  } finally {
    editor.child.kill('SIGKILL');
  }
}, 120_000);

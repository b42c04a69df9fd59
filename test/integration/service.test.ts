/**
 * `nrcert run`, the service, as a real process against Pebble issuing 30-second certificates:
 * it renews on its own, opens no listening socket, backs off after failures (persisted across a
 * restart), notifies, writes status.json and metrics, and stops cleanly on SIGTERM mid-renewal.
 */
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { startCli, startStack, stopCli, type CliResult, type Stack } from '../helpers/cli';
import { waitFor } from '../helpers/wait';

let stack: Stack;
let notifyServer: Server;
const events: Array<Record<string, unknown>> = [];
let notifyUrl: string;

beforeAll(async () => {
  stack = await startStack({ validitySeconds: 30 });
  notifyServer = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      events.push(JSON.parse(body) as Record<string, unknown>);
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => notifyServer.listen(0, '127.0.0.1', resolve));
  notifyUrl = `http://127.0.0.1:${(notifyServer.address() as { port: number }).port}/notify/secret-path-token`;
});

afterAll(async () => {
  await new Promise((resolve) => notifyServer?.close(resolve));
  await stack?.stop();
});

function serviceEnv(overrides: Record<string, string | undefined> = {}): Record<string, string> {
  return stack.env({ RENEW_SCHEDULE: '*/2 * * * * *', RENEW_START_DELAY: '0', NOTIFY_URL: notifyUrl, METRICS_FILE: join(stack.dir, 'nrcert.prom'), ...overrides });
}

function lineages(certDir: string): string[] {
  return existsSync(join(certDir, '.nrcert')) ? readdirSync(join(certDir, '.nrcert')).filter((n) => !n.endsWith('.tmp')) : [];
}

function challengeRecords() {
  return stack.fake.records().filter((r) => r.name.startsWith('_acme-challenge'));
}

/** Socket inodes of `pid` that are listening: TCP in LISTEN, or UDP bound but not connected. */
function listeningSockets(pid: number): string[] {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return [];
  }
  const inodes = new Set(fds.map((fd) => { try { return /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1]; } catch { return undefined; } }).filter(Boolean));
  const found: string[] = [];
  for (const [file, listenState] of [['tcp', '0A'], ['tcp6', '0A'], ['udp', '07'], ['udp6', '07']] as const) {
    for (const line of readFileSync(`/proc/${pid}/net/${file}`, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 9 && cols[3] === listenState && inodes.has(cols[9])) found.push(`${file} ${cols[1]}`);
    }
  }
  return found;
}

test('renews on its own, opens no listening socket, notifies and writes status and metrics', async () => {
  const certDir = join(stack.dir, 'own-certs');
  const stateDir = join(stack.dir, 'own-state');
  const service = startCli(['run'], serviceEnv({ CERT_DIR: certDir, STATE_DIR: stateDir }), stack.dir);
  const sockets: string[] = [];
  const sample = setInterval(() => sockets.push(...listeningSockets(service.child.pid!)), 200);
  let result: CliResult;
  try {
    const served = () => (existsSync(join(certDir, 'cert.pem')) ? new X509Certificate(readFileSync(join(certDir, 'cert.pem'))).fingerprint256 : null);
    await waitFor(() => served() !== null, 20_000);
    const first = served();
    // 30-second certificates are due 20 s after issuance; the service notices at a tick and renews.
    await waitFor(() => served() !== first, 40_000, { intervalMs: 250, what: 'a renewed certificate in CERT_DIR' });
    expect(lineages(certDir).length).toBeGreaterThanOrEqual(2);
    const second = new X509Certificate(readFileSync(join(certDir, 'cert.pem')));
    expect(createPublicKey(createPrivateKey(readFileSync(join(certDir, 'privkey.pem')))).export({ type: 'spki', format: 'der' }))
      .toEqual(second.publicKey.export({ type: 'spki', format: 'der' }));
    await waitFor(() => events.filter((e) => e.type === 'renewed').length >= 2, 10_000);
  } finally {
    clearInterval(sample);
    result = await stopCli(service);
  }
  expect(result.code).toBe(0);
  expect(sockets).toEqual([]);
  // The check itself can see a listening socket: this test process has one (the notify server).
  expect(listeningSockets(process.pid).length).toBeGreaterThan(0);
  expect(challengeRecords()).toEqual([]);
  const renewed = events.find((e) => e.type === 'renewed')!;
  expect(renewed.names).toEqual(['example.test', '*.example.test']);
  expect(renewed.text).toMatch(/New certificate for example\.test/);
  const status = JSON.parse(readFileSync(join(stateDir, 'status.json'), 'utf8'));
  expect(status.certificate.fingerprint256).toBe(new X509Certificate(readFileSync(join(certDir, 'cert.pem'))).fingerprint256);
  expect(status.consecutiveFailures).toBe(0);
  const metrics = readFileSync(join(stack.dir, 'nrcert.prom'), 'utf8');
  expect(metrics).toMatch(/^nrcert_certificate_expiry_seconds\{names="example.test,\*.example.test"\} \d+$/m);
  expect(metrics).toMatch(/^nrcert_last_renewal_success_timestamp_seconds \d+/m);
  expect(result.stderr).not.toContain('secret-path-token');
}, 90_000);

test('with Cloudflare failing after the order, the back-off grows and persists across a restart of the service', async () => {
  const certDir = join(stack.dir, 'fail-certs');
  const stateDir = join(stack.dir, 'fail-state');
  const statePath = join(stateDir, 'renewal-state.json');
  const zoneLookups = () => stack.fake.requests.filter((r) => r.method === 'GET' && /\/zones$/.test(r.path)).length;
  const recordCreates = () => stack.fake.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/dns_records')).length;
  const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));
  /** Waits until a scheduled run that ended after now was held by the back-off (status.json says so). */
  const aTickHeld = async (): Promise<void> => {
    const since = Date.now();
    await waitFor(() => {
      const run = readJson(join(stateDir, 'status.json')).lastRun;
      return run.outcome === 'held' && String(run.message).startsWith('due, but backing off') && Date.parse(run.at) > since;
    }, 20_000, { what: `a scheduled run held by the back-off after ${new Date(since).toISOString()}` });
  };
  // Creating the TXT record fails: the ACME order exists by then, so the failure costs CA budget and backs off.
  stack.fake.failAlways({ method: 'POST', pathIncludes: '/dns_records' }, { status: 503, code: 10000, message: 'Service unavailable' });
  const env = serviceEnv({ CERT_DIR: certDir, STATE_DIR: stateDir });
  let service = startCli(['run'], env, stack.dir);
  try {
    await waitFor(() => readJson(statePath).consecutiveFailures === 1, 20_000);
    const first = readJson(statePath);
    const delay1 = Date.parse(first.nextAttemptAt) - Date.parse(first.lastFailure.at);
    expect(delay1).toBe(3_600_000);
    expect(first.lastFailure).toMatchObject({ transient: true, orderPlaced: true });
    // A tick passes: held by the back-off, no request reaches Cloudflare.
    const lookups = zoneLookups();
    const creates = recordCreates();
    await aTickHeld();
    expect(zoneLookups()).toBe(lookups);
    expect(recordCreates()).toBe(creates);
    expect((await stopCli(service)).code).toBe(0);
    // Restarted, it still remembers.
    service = startCli(['run'], env, stack.dir);
    await aTickHeld();
    expect(zoneLookups()).toBe(lookups);
    expect(readJson(statePath).consecutiveFailures).toBe(1);
    // Time passes (the back-off ends): the next failure waits longer.
    writeFileSync(statePath, JSON.stringify({ ...readJson(statePath), nextAttemptAt: new Date(Date.now() - 1000).toISOString() }));
    await waitFor(() => readJson(statePath).consecutiveFailures === 2, 20_000);
    const second = readJson(statePath);
    expect(Date.parse(second.nextAttemptAt) - Date.parse(second.lastFailure.at)).toBe(6 * 3_600_000);
    expect(second.failuresTotal).toBe(2);
    expect((await stopCli(service)).code).toBe(0);
    expect(events.some((e) => e.type === 'renewal_failed' && /attempt 2/.test(String(e.text)))).toBe(true);
    expect(readFileSync(join(stack.dir, 'nrcert.prom'), 'utf8')).toMatch(/^nrcert_renewal_failures_total 2$/m);
  } finally {
    await stopCli(service); // at once when it has stopped already
    stack.fake.clearFailures();
  }
}, 90_000);

test('SIGTERM in the middle of a renewal: TXT records removed, CERT_DIR consistent, exit 0', async () => {
  const certDir = join(stack.dir, 'term-certs');
  const stateDir = join(stack.dir, 'term-state');
  // A first certificate, then a service whose renewal hangs waiting for DNS propagation.
  const env = serviceEnv({ CERT_DIR: certDir, STATE_DIR: stateDir });
  const first = startCli(['renew'], env, stack.dir);
  expect((await first.done).code).toBe(0);
  const before = new X509Certificate(readFileSync(join(certDir, 'cert.pem'))).fingerprint256;
  // The certificate is fresh; adding a name makes it due, so the service's first check renews.
  const forced = startCli(['run'], { ...env, DOMAINS: 'example.test,*.example.test,www.example.test', RENEW_SCHEDULE: '0 0 1 1 *', DNS_RESOLVERS: '127.0.0.1:9', DNS_PROPAGATION_TIMEOUT: '60' }, stack.dir);
  let result: CliResult;
  try {
    await waitFor(() => challengeRecords().length >= 2, 30_000);
  } finally {
    result = await stopCli(forced);
  }
  expect(result.code).toBe(0);
  expect(result.stderr).toMatch(/interrupted/);
  expect(challengeRecords()).toEqual([]);
  const cert = new X509Certificate(readFileSync(join(certDir, 'cert.pem')));
  expect(cert.fingerprint256).toBe(before);
  expect(createPublicKey(createPrivateKey(readFileSync(join(certDir, 'privkey.pem')))).export({ type: 'spki', format: 'der' }))
    .toEqual(cert.publicKey.export({ type: 'spki', format: 'der' }));
  expect(existsSync(join(stateDir, 'lock'))).toBe(false);
}, 60_000);

/** The pids of `pid`'s child processes. */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

test('a renewal child that crashes does not kill the service; the next check sweeps its records and lock', async () => {
  const certDir = join(stack.dir, 'crash-certs');
  const stateDir = join(stack.dir, 'crash-state');
  const env = serviceEnv({ CERT_DIR: certDir, STATE_DIR: stateDir, DNS_RESOLVERS: '127.0.0.1:9', DNS_PROPAGATION_TIMEOUT: '60', RENEW_SCHEDULE: '*/3 * * * * *' });
  const service = startCli(['run'], env, stack.dir);
  let result: CliResult;
  try {
    await waitFor(() => challengeRecords().length >= 2 && childrenOf(service.child.pid!).length === 1, 20_000);
    const [crashed] = childrenOf(service.child.pid!);
    const leftovers = challengeRecords().map((r) => r.id);
    process.kill(crashed, 'SIGKILL'); // no cleanup at all: records and lock stay behind
    await waitFor(() => childrenOf(service.child.pid!).some((pid) => pid !== crashed), 15_000);
    expect(service.child.exitCode).toBeNull();
    // The new check removed the crashed run's records (and took over its stale lock) before creating its own.
    await waitFor(() => {
      const ids = challengeRecords().map((r) => r.id);
      return ids.length === 2 && !ids.some((id) => leftovers.includes(id));
    }, 15_000);
  } finally {
    result = await stopCli(service);
  }
  expect(result.code).toBe(0);
  expect(result.stderr).toMatch(/renewal check failed; the service goes on/);
  expect(result.stderr).toMatch(/removed TXT records left behind by an earlier interrupted run/);
  expect(challengeRecords()).toEqual([]);
}, 60_000);

test('systemctl stop (SIGTERM to the service and its renewal child at once): cleanup completes, lock removed, exit 0', async () => {
  const certDir = join(stack.dir, 'group-certs');
  const stateDir = join(stack.dir, 'group-state');
  const env = serviceEnv({ CERT_DIR: certDir, STATE_DIR: stateDir });
  expect((await startCli(['renew'], env, stack.dir).done).code).toBe(0);
  // A renewal that hangs waiting for DNS propagation (nothing answers at port 9).
  const service = startCli(['run'], { ...env, DOMAINS: 'example.test,*.example.test,www.example.test', RENEW_SCHEDULE: '0 0 1 1 *', DNS_RESOLVERS: '127.0.0.1:9', DNS_PROPAGATION_TIMEOUT: '60' }, stack.dir);
  let result: CliResult;
  try {
    await waitFor(() => challengeRecords().length >= 2 && childrenOf(service.child.pid!).length === 1, 30_000, { what: 'TXT records published by the renewal child' });
    const [renewal] = childrenOf(service.child.pid!);
    // KillMode=control-group: every process of the unit gets SIGTERM; the service forwards one more.
    process.kill(service.child.pid!, 'SIGTERM');
    process.kill(renewal, 'SIGTERM');
  } finally {
    result = await stopCli(service, 30_000); // waits for the exit (SIGTERM again only if it never began)
  }
  expect(result.code).toBe(0);
  expect(result.stderr).toMatch(/interrupted/);
  expect(challengeRecords()).toEqual([]);
  expect(existsSync(join(stateDir, 'lock'))).toBe(false);
  // The renewal child was not cut short: it ended as "interrupted after cleaning up" (130), not killed.
  expect(result.stderr).toMatch(/"code":130/);
  // …and a stop is not reported as a failed renewal (journalctl -p err stays quiet).
  expect(result.stderr).not.toMatch(/renewal check failed/);
  expect(result.stderr).toMatch(/renewal stopped after cleaning up/);
}, 60_000);

test('a second `nrcert run` on the same STATE_DIR refuses at start, naming the first, exit 4', async () => {
  const stateDir = join(stack.dir, 'twice-state');
  const env = serviceEnv({ CERT_DIR: join(stack.dir, 'twice-certs'), STATE_DIR: stateDir, RENEW_SCHEDULE: undefined, RENEW_START_DELAY: '3600' });
  const first = startCli(['run'], env, stack.dir);
  try {
    // service.json is written once the service holds STATE_DIR (it picks its schedule slot then).
    await waitFor(() => existsSync(join(stateDir, 'service.json')), 20_000, { what: 'the first service to start' });
    const started = startCli(['run'], env, stack.dir);
    const bound = setTimeout(() => started.child.kill('SIGTERM'), 15_000); // a second that runs on fails below
    const second = await started.done;
    clearTimeout(bound);
    expect(second.code).toBe(4);
    expect(second.stderr).toMatch(new RegExp(`nrcert: another nrcert run \\(pid ${first.child.pid}, run, started \\d{4}-\\d\\d-\\d\\dT[^)]+\\) holds the lock at ${join(stateDir, 'service.lock')}`));
    expect(second.stderr).toMatch(/stop that one first/);
    expect(first.child.exitCode).toBeNull();
  } finally {
    expect((await stopCli(first)).code).toBe(0);
  }
  expect(existsSync(join(stateDir, 'service.lock'))).toBe(false);
  // Stopped, it frees STATE_DIR for the next one.
  const next = startCli(['run'], env, stack.dir);
  await waitFor(() => existsSync(join(stateDir, 'service.lock')), 20_000);
  expect((await stopCli(next)).code).toBe(0);
}, 60_000);

/**
 * Logging under systemd: with stderr connected to the journal (JOURNAL_STREAM names it), the
 * built CLI writes sd-daemon priority prefixes, so `journalctl -p err` shows a failed renewal;
 * LOG_FORMAT=json keeps JSON. The stderr here is a file whose device and inode JOURNAL_STREAM
 * names, as systemd does for its journal socket. The token never appears in any format.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, SENTINEL_TOKEN, startStack, type Stack } from '../helpers/cli';
import { waitFor } from '../helpers/wait';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack?.stop());

/** Runs `nrcert args…` with stderr on a file that JOURNAL_STREAM names (or `journalStream` when given). */
async function runToJournal(
  args: string[],
  env: Record<string, string>,
  journalStream?: string,
  whileRunning?: (child: ChildProcess) => Promise<void>,
): Promise<{ code: number | null; stderr: string }> {
  const path = join(stack.dir, `stderr-${Date.now()}-${Math.random()}.log`);
  const fd = openSync(path, 'w');
  try {
    const st = fstatSync(fd, { bigint: true });
    const child = spawn(process.execPath, ['--', CLI, ...args], {
      env: { ...env, JOURNAL_STREAM: journalStream ?? `${st.dev}:${st.ino}` },
      cwd: stack.dir,
      stdio: ['ignore', 'ignore', fd],
    });
    const exited = new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      // A SIGTERM that lands while Node is already tearing down (after the cleanup, the lock
      // released and the last line written) ends it by the signal: reported as 143, as a shell would.
      child.once('exit', (c, signal) => resolve(c ?? (signal === 'SIGTERM' ? 143 : null)));
    });
    try {
      await whileRunning?.(child);
    } catch (err) {
      child.kill('SIGKILL');
      throw err;
    }
    const code = await exited;
    return { code, stderr: readFileSync(path, 'utf8') };
  } finally {
    closeSync(fd);
  }
}

/** A renewal that fails at Cloudflare: the token cannot see a zone for these names. */
const failingEnv = () => stack.env({ DOMAINS: 'nozone.test,*.nozone.test', CERT_DIR: join(stack.dir, 'j-certs'), STATE_DIR: join(stack.dir, 'j-state') });

test('a failed renewal is logged at priority err (<3>), info below it, no clock, no token', async () => {
  const { code, stderr } = await runToJournal(['renew'], failingEnv());
  expect(code).toBe(5);
  const lines = stderr.trimEnd().split('\n');
  // Every line carries a priority (journald would file an unprefixed one as info).
  for (const line of lines) expect(line).toMatch(/^<[3467]>/);
  expect(lines.some((l) => /^<6>INFO  /.test(l))).toBe(true);
  expect(lines.some((l) => /^<3>ERROR renewal failed/.test(l))).toBe(true);
  expect(lines[lines.length - 1]).toMatch(/^<3>nrcert: .*nozone\.test/);
  expect(stderr).not.toMatch(/^<\d>\d\d:\d\d:\d\d /m);
  expect(stderr).not.toContain(SENTINEL_TOKEN);
}, 60_000);

test('LOG_FORMAT=json under the journal: JSON records behind their priority prefixes', async () => {
  const { code, stderr } = await runToJournal(['renew'], { ...failingEnv(), LOG_FORMAT: 'json' });
  expect(code).toBe(5);
  const lines = stderr.trimEnd().split('\n');
  const records = lines.slice(0, -1).map((l) => ({ priority: l.slice(0, 3), record: JSON.parse(l.slice(3)) as { level: number } }));
  expect(records.length).toBeGreaterThan(0);
  for (const { priority, record } of records) expect(priority).toBe(`<${{ 10: 7, 20: 7, 30: 6, 40: 4, 50: 3, 60: 3 }[record.level]}>`);
  expect(records.some(({ record }) => record.level === 50)).toBe(true);
  expect(lines[lines.length - 1]).toMatch(/^<3>nrcert: /);
  expect(stderr).not.toContain(SENTINEL_TOKEN);
}, 60_000);

test('JOURNAL_STREAM inherited but stderr elsewhere (it names another stream): plain JSON, no prefixes', async () => {
  const { code, stderr } = await runToJournal(['renew'], failingEnv(), '1:2');
  expect(code).toBe(5);
  const lines = stderr.trimEnd().split('\n');
  for (const line of lines.slice(0, -1)) expect(() => JSON.parse(line)).not.toThrow();
  expect(lines[lines.length - 1]).toMatch(/^nrcert: /);
}, 60_000);

test('a renewal stopped by systemd (SIGTERM twice) cleans up and says so at notice, not err', async () => {
  const stateDir = join(stack.dir, 'stop-state');
  const records = () => stack.fake.records().filter((r) => r.name.startsWith('_acme-challenge'));
  const env = stack.env({ CERT_DIR: join(stack.dir, 'stop-certs'), STATE_DIR: stateDir, DNS_RESOLVERS: '127.0.0.1:9', DNS_PROPAGATION_TIMEOUT: '60' });
  const { code, stderr } = await runToJournal(['renew', '--scheduled'], env, undefined, async (child) => {
    await waitFor(() => records().length >= 2, 30_000, { what: 'TXT records at the fake' });
    child.kill('SIGTERM');
    // A second one as systemd's control-group stop plus the service's forward would send it
    // (a little later, or the kernel merges the two into one delivery).
    await new Promise((r) => setTimeout(r, 30));
    child.kill('SIGTERM');
  });
  expect([130, 143]).toContain(code);
  expect(records()).toEqual([]);
  expect(existsSync(join(stateDir, 'lock'))).toBe(false);
  const lines = stderr.trimEnd().split('\n');
  expect(lines.filter((l) => l.startsWith('<3>'))).toEqual([]);
  expect(lines.some((l) => /^<4>WARN  interrupted: cleaning up {2}signal=SIGTERM$/.test(l))).toBe(true);
  // The second SIGTERM never starts a second cleanup or cuts this one short: it is taken in stride
  // ("already cleaning up"), merged by the kernel with the first, or lands while Node tears down (143).
  expect(lines.filter((l) => l.includes('interrupted: cleaning up'))).toHaveLength(1);
  expect(lines[lines.length - 1]).toBe('<5>nrcert: interrupted: cleaned up and stopped; nothing was installed');
}, 60_000);

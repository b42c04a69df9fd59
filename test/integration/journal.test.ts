/**
 * Logging under systemd: with stderr connected to the journal (JOURNAL_STREAM names it), the
 * built CLI writes sd-daemon priority prefixes, so `journalctl -p err` shows a failed renewal;
 * LOG_FORMAT=json keeps JSON. The stderr here is a file whose device and inode JOURNAL_STREAM
 * names, as systemd does for its journal socket. The token never appears in any format.
 */
import { spawn } from 'node:child_process';
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, SENTINEL_TOKEN, startStack, type Stack } from '../helpers/cli';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack?.stop());

/** Runs `nrcert args…` with stderr on a file that JOURNAL_STREAM names (or `journalStream` when given). */
async function runToJournal(args: string[], env: Record<string, string>, journalStream?: string): Promise<{ code: number | null; stderr: string }> {
  const path = join(stack.dir, `stderr-${Date.now()}-${Math.random()}.log`);
  const fd = openSync(path, 'w');
  try {
    const st = fstatSync(fd, { bigint: true });
    const child = spawn(process.execPath, ['--', CLI, ...args], {
      env: { ...env, JOURNAL_STREAM: journalStream ?? `${st.dev}:${st.ino}` },
      cwd: stack.dir,
      stdio: ['ignore', 'ignore', fd],
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (c) => resolve(c));
    });
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

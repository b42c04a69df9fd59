/**
 * The lineage lifecycle through the real CLI against Pebble and the Cloudflare fake: rollback
 * goes to the last certificate that was live (never to one that failed), `rollback` with nowhere
 * to go exits 11, `status` names the live and the previous lineage, a run refused by the lock
 * changes no file, a failure before any order is retried at once after the fix, an activation a
 * killed run left is finished by the next run, archiving failing after the swap still activates,
 * and a rollback never puts back a key that does not match.
 */
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, readlinkSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { runCli, startStack, type CliResult, type Stack } from '../helpers/cli';
import { waitFor } from '../helpers/wait';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

/** A CERT_DIR and STATE_DIR of its own for each test. */
function dirs(name: string) {
  return { CERT_DIR: join(stack.dir, `${name}-certs`), STATE_DIR: join(stack.dir, `${name}-state`) };
}

function nrcert(args: string[], env: Record<string, string | undefined>): Promise<CliResult> {
  return runCli(args, stack.env(env), stack.dir);
}

const currentLineage = (certDir: string) => readlinkSync(join(certDir, 'current')).split('/').pop()!;
const served = (certDir: string) => new X509Certificate(readFileSync(join(certDir, 'cert.pem'))).fingerprint256;
const readState = (stateDir: string) => JSON.parse(readFileSync(join(stateDir, 'renewal-state.json'), 'utf8'));

/** The statuses of the lineages, as `status --json` lists them. */
async function lineages(env: Record<string, string>): Promise<Array<{ id: string; state: string; notAfter: string; fingerprint256: string }>> {
  const result = await nrcert(['status', '--json'], env);
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout).lineages;
}

test('two failed activations in a row both roll back to the certificate that was live, never to the first failure', async () => {
  const env = dirs('rollback');
  expect((await nrcert(['renew'], env)).code).toBe(0);
  const live = currentLineage(env.CERT_DIR);
  const liveFingerprint = served(env.CERT_DIR);

  const first = await nrcert(['renew', '--force'], { ...env, RESTART_COMMAND: '/bin/false' });
  expect(first.code).toBe(10);
  expect(currentLineage(env.CERT_DIR)).toBe(live);
  const second = await nrcert(['renew', '--force'], { ...env, RESTART_COMMAND: '/bin/false' });
  expect(second.code).toBe(10);
  expect(currentLineage(env.CERT_DIR)).toBe(live);
  expect(served(env.CERT_DIR)).toBe(liveFingerprint);
  // One message: what was tried, what is installed now, what to do; never "the new certificate is installed".
  expect(second.stderr).toMatch(/Tried: activating the new certificate \S+: RESTART_COMMAND \(\/bin\/false\) exited with code 1\. Installed now: the previous certificate/);
  expect(second.stderr).toContain(live);
  expect(second.stderr).not.toMatch(/the new certificate is installed|restart Node-RED by hand/);

  const list = await lineages(env);
  expect(list.find((l) => l.id === live)).toMatchObject({ state: 'live', fingerprint256: liveFingerprint });
  expect(list.filter((l) => l.state === 'failed')).toHaveLength(2);
  const status = await nrcert(['status'], env);
  expect(status.stdout).toMatch(new RegExp(`Live: +${live}`));
  expect(status.stdout).toMatch(/Previous: +none/);
  expect(status.stdout.match(/Failed: /g)).toHaveLength(2);

  // With nothing Node-RED took before it, `rollback` has nowhere to go: exit 11, nothing changes.
  const rollback = await nrcert(['rollback'], env);
  expect(rollback.code).toBe(11);
  expect(rollback.stderr).toMatch(/no earlier certificate that Node-RED served .*nothing was changed/);
  expect(currentLineage(env.CERT_DIR)).toBe(live);

  // A renewal that works makes the old live one the previous; rollback goes there, and --to picks any on purpose.
  expect((await nrcert(['renew', '--force'], env)).code).toBe(0);
  const newest = currentLineage(env.CERT_DIR);
  expect((await lineages(env)).find((l) => l.id === live)!.state).toBe('previous');
  const back = await nrcert(['rollback'], env);
  expect(back.code).toBe(0);
  expect(currentLineage(env.CERT_DIR)).toBe(live);
  const failed = list.find((l) => l.state === 'failed')!.id;
  const chosen = await nrcert(['rollback', '--to', failed], env);
  expect(chosen.code).toBe(0);
  expect(currentLineage(env.CERT_DIR)).toBe(failed);
  expect((await nrcert(['rollback', '--to', newest], env)).code).toBe(0);
}, 120_000);

test('a run refused by the lock changes no file', async () => {
  const env = dirs('locked');
  expect((await nrcert(['renew'], env)).code).toBe(0);
  // Another run holds the lock: this very test process, alive.
  writeFileSync(join(env.STATE_DIR, 'lock'), JSON.stringify({ pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString(), command: 'renew' }));
  const snapshot = () => readdirSync(env.STATE_DIR).filter((n) => n !== 'lock').map((n) => [n, statSync(join(env.STATE_DIR, n)).mtimeMs, existsSync(join(env.STATE_DIR, n)) && statSync(join(env.STATE_DIR, n)).isFile() ? readFileSync(join(env.STATE_DIR, n), 'utf8') : '']);
  const before = snapshot();
  const refused = await nrcert(['renew', '--force'], env);
  expect(refused.code).toBe(4);
  expect(snapshot()).toEqual(before);
}, 60_000);

test('a failure before any ACME order (refused token) is retried by the next scheduled run as soon as it is fixed', async () => {
  const env = dirs('preorder');
  expect((await nrcert(['renew'], env)).code).toBe(0);
  const bad = await nrcert(['renew', '--force', '--scheduled'], { ...env, CLOUDFLARE_API_TOKEN: 'a-wrong-token' });
  expect(bad.code).toBe(5);
  const state = readState(env.STATE_DIR);
  expect(state.lastFailure).toMatchObject({ orderPlaced: false, exitCode: 5 });
  expect(state.nextAttemptAt).toBeUndefined();
  // Fixed: a scheduled run (the service's next check, or a restart) tries at once instead of waiting 24 h.
  const before = currentLineage(env.CERT_DIR);
  const fixed = await nrcert(['renew', '--force', '--scheduled'], env);
  expect(fixed.code).toBe(0);
  expect(currentLineage(env.CERT_DIR)).not.toBe(before);
}, 60_000);

test('SIGKILL after the swap and before the restart hook: the next run restarts Node-RED for it', async () => {
  const env = dirs('killed');
  expect((await nrcert(['renew'], env)).code).toBe(0);
  const before = currentLineage(env.CERT_DIR);
  // The hook hangs: kill the run once the new lineage is current and the hook is running.
  const marker = join(stack.dir, 'hook-ran');
  const hook = join(stack.dir, 'hook.sh');
  writeFileSync(hook, `#!/bin/sh\necho "$NRCERT_LINEAGE" >> ${marker}\n[ -n "$HANG" ] && sleep 30\nexit 0\n`);
  chmodSync(hook, 0o755);
  const child = spawn(process.execPath, ['--', join(__dirname, '../../dist/cli/index.js'), 'renew', '--force'], {
    env: { ...stack.env({ ...env, RESTART_COMMAND: hook, RESTART_TIMEOUT: '60' }), HANG: '1' }, stdio: 'ignore', cwd: stack.dir,
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    await waitFor(() => existsSync(marker), 40_000, { what: 'the restart hook to start' });
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
  const installedNew = currentLineage(env.CERT_DIR);
  expect(installedNew).not.toBe(before);
  expect(readState(env.STATE_DIR).lineages.pending).toMatchObject({ id: installedNew });
  // The next run is not due, but finishes the activation first: the hook runs for the new lineage.
  writeFileSync(marker, '');
  const next = await nrcert(['renew'], { ...env, RESTART_COMMAND: hook });
  expect(next.code).toBe(0);
  expect(readFileSync(marker, 'utf8').trim()).toBe(installedNew);
  const state = readState(env.STATE_DIR);
  expect(state.lineages.pending).toBeUndefined();
  expect(state.lineages.history.at(-1)).toBe(installedNew);
}, 90_000);

test('archiving failing after the swap: the new certificate is activated and the outcome says what is installed', async () => {
  const env = dirs('archive');
  expect((await nrcert(['renew'], env)).code).toBe(0);
  // STATE_DIR/archive cannot take a new folder (a file in its way: root ignores permissions).
  const archive = join(env.STATE_DIR, 'archive');
  const blocked = join(env.STATE_DIR, 'archive-moved');
  renameSync(archive, blocked);
  writeFileSync(archive, 'not a folder');
  const marker = join(stack.dir, 'archive-hook-ran');
  const result = await nrcert(['renew', '--force'], { ...env, RESTART_COMMAND: `/usr/bin/touch ${marker}` });
  expect(result.code).toBe(0);
  expect(existsSync(marker)).toBe(true);
  expect(result.stdout).toMatch(/installed in .*\nWarning: archiving the new certificate failed/);
  const state = readState(env.STATE_DIR);
  expect(state.lastRun.outcome).toBe('renewed');
  expect(state.lineages.history.at(-1)).toBe(currentLineage(env.CERT_DIR));
  // The next run is simply not due: nothing stays half-done.
  expect((await nrcert(['renew'], env)).stdout).toMatch(/not due/);
}, 60_000);

test('rollback never puts back a lineage whose key no longer matches its certificate', async () => {
  const env = dirs('mismatch');
  expect((await nrcert(['renew'], env)).code).toBe(0);
  const first = currentLineage(env.CERT_DIR);
  expect((await nrcert(['renew', '--force'], env)).code).toBe(0);
  const second = currentLineage(env.CERT_DIR);
  // Someone replaced the earlier lineage's key with a key of their own.
  const otherKey = readFileSync(join(env.CERT_DIR, '.nrcert', second, 'privkey.pem'));
  writeFileSync(join(env.CERT_DIR, '.nrcert', first, 'privkey.pem'), otherKey);
  const result = await nrcert(['rollback'], env);
  expect(result.code).toBe(11);
  expect(currentLineage(env.CERT_DIR)).toBe(second);
  const chosen = await nrcert(['rollback', '--to', first], env);
  expect(chosen.code).toBe(8);
  expect(chosen.stderr).toMatch(/does not match/);
  expect(currentLineage(env.CERT_DIR)).toBe(second);
}, 60_000);

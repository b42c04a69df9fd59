/**
 * RESTART_COMMAND and NOTIFY_COMMAND are bounded as a whole: at the timeout, or when the run is
 * interrupted, the command's whole process group is stopped, grandchildren included, without
 * waiting for output that a grandchild still holds open (issue 9 §3).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandResult, UserCommandOptions } from '../../src/util/command';
import { callBuilt } from '../helpers/built';
import { makeTempDir, removeTempDir } from '../helpers/tmp';
import { waitFor } from '../helpers/wait';
import { alive } from '../helpers/process';

/** runUserCommand of the built code (it loads execa, which jest cannot import). */
async function runUserCommand(argv: string[], opts: UserCommandOptions): Promise<CommandResult> {
  return (await callBuilt<CommandResult>('util/command', 'runUserCommand', [argv, opts]).done).value!;
}

/** runRestartHook of the built code: resolves the error it threw, or undefined. */
async function restartHookError(argv: string[], timeoutMs: number): Promise<{ name: string; message: string } | undefined> {
  return (await callBuilt('nodered/hook', 'runRestartHook', [argv, timeoutMs, ctx, { $logger: true }]).done).error;
}
let dir: string;
const started: number[] = [];

beforeAll(async () => {
  dir = await makeTempDir('user-command');
});
afterAll(async () => {
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGKILL'); // a failing test must not leave a sleep 301 behind
    } catch {
      // gone, as it should be
    }
  }
  await removeTempDir(dir);
});

/** A shell script that starts `sleep 301` in the background (it inherits stdout) and notes its pid. */
function script(name: string, tail: string): { path: string; pidFile: string } {
  const path = join(dir, `${name}.sh`);
  const pidFile = join(dir, `${name}.pid`);
  writeFileSync(path, `#!/bin/sh\nsleep 301 &\necho $! > "${pidFile}"\necho started\n${tail}\n`);
  chmodSync(path, 0o755);
  return { path, pidFile };
}

async function grandchild(pidFile: string): Promise<number> {
  await waitFor(() => readFileSync(pidFile, 'utf8').trim() !== '', 5000, { what: 'the script to write the sleep pid' });
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  started.push(pid);
  return pid;
}

const ctx = { certDir: '/nonexistent/certs', names: ['example.test'], lineage: 'L1' };

describe('RESTART_TIMEOUT bounds the whole hook', () => {
  it('a script that exits while its background sleep keeps stdout open: stopped at the timeout, the sleep killed', async () => {
    const { path, pidFile } = script('exits', 'exit 0');
    const began = Date.now();
    const err = await restartHookError([path], 2000);
    const elapsed = Date.now() - began;
    expect(err?.name).toBe('HookError');
    expect(err?.message).toMatch(/RESTART_COMMAND \(.*exits\.sh\) did not finish within 2 s.*\(RESTART_TIMEOUT\)/);
    expect(elapsed).toBeLessThan(10_000);
    const pid = await grandchild(pidFile);
    await waitFor(() => !alive(pid), 3000, { what: `the grandchild sleep (pid ${pid}) to be gone` });
  });

  it('a script that waits for its background sleep: the same', async () => {
    const { path, pidFile } = script('waits', 'wait');
    const began = Date.now();
    const err = await restartHookError([path], 2000);
    expect(Date.now() - began).toBeLessThan(10_000);
    expect(err?.message).toMatch(/did not finish within 2 s \(RESTART_TIMEOUT\)/);
    const pid = await grandchild(pidFile);
    await waitFor(() => !alive(pid), 3000, { what: `the grandchild sleep (pid ${pid}) to be gone` });
  });

  it('a grandchild that ignores SIGTERM is killed after the grace', async () => {
    const path = join(dir, 'stubborn.sh');
    const pidFile = join(dir, 'stubborn.pid');
    writeFileSync(path, `#!/bin/sh\n(trap '' TERM; exec sleep 301) &\necho $! > "${pidFile}"\nwait\n`);
    chmodSync(path, 0o755);
    const result = await runUserCommand([path], { env: {}, timeoutMs: 1000, killGraceMs: 500 });
    expect(result).toMatchObject({ ok: false, timedOut: true });
    const pid = await grandchild(pidFile);
    await waitFor(() => !alive(pid), 3000, { what: `the SIGTERM-ignoring sleep (pid ${pid}) to be gone` });
  });
});

describe('runUserCommand', () => {
  it('stops the whole group at once when the signal fires', async () => {
    const { path, pidFile } = script('aborted', 'wait');
    const running = callBuilt<CommandResult>('util/command', 'runUserCommand', [[path], { env: {}, timeoutMs: 60_000, signal: { $signal: true } }]);
    const pid = await grandchild(pidFile);
    const began = Date.now();
    running.abort();
    const result = (await running.done).value;
    expect(Date.now() - began).toBeLessThan(5000);
    expect(result).toMatchObject({ ok: false, timedOut: false, aborted: true });
    await waitFor(() => !alive(pid), 3000, { what: `the grandchild sleep (pid ${pid}) to be gone` });
  });

  it('a command that ends is done: its exit code and last output, or ok', async () => {
    expect(await runUserCommand(['/bin/sh', '-c', 'echo one; echo two >&2; exit 3'], { env: {}, timeoutMs: 10_000 }))
      .toEqual({ ok: false, timedOut: false, detail: expect.stringMatching(/^exited with code 3: .*two/) });
    expect(await runUserCommand(['/bin/sh', '-c', 'read line; test "$line" = hello'], { env: {}, input: 'hello\n', timeoutMs: 10_000 }))
      .toEqual({ ok: true });
    expect(await runUserCommand([join(dir, 'missing')], { env: {}, timeoutMs: 10_000 }))
      .toEqual({ ok: false, timedOut: false, detail: 'could not be run (ENOENT)' });
  });

  it('a command still running when nrcert exits (a second Ctrl-C) is stopped on the way out', async () => {
    const { path, pidFile } = script('orphaned', 'wait');
    const command = join(__dirname, '..', '..', 'dist', 'util', 'command.js');
    const program = `require(${JSON.stringify(command)}).runUserCommand([${JSON.stringify(path)}], { env: {}, timeoutMs: 60000 });
setTimeout(() => process.exit(130), 1000);`;
    const status = (() => {
      try {
        execFileSync(process.execPath, ['-e', program], { stdio: 'ignore', timeout: 20_000 });
        return 0;
      } catch (err) {
        return (err as { status?: number }).status;
      }
    })();
    expect(status).toBe(130);
    const pid = await grandchild(pidFile);
    await waitFor(() => !alive(pid), 3000, { what: `the grandchild sleep (pid ${pid}) to be gone` });
  });

  it('a daemon that left our output alone is not part of the command', async () => {
    const pidFile = join(dir, 'daemon.pid');
    const result = await runUserCommand(['/bin/sh', '-c', `sleep 301 >/dev/null 2>&1 & echo $! > "${pidFile}"`], { env: {}, timeoutMs: 10_000 });
    expect(result).toEqual({ ok: true });
    const pid = await grandchild(pidFile);
    expect(alive(pid)).toBe(true);
    process.kill(pid, 'SIGKILL');
  });
});

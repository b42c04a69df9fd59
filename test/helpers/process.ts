/** Child processes for integration tests: output kept for error messages, stop() awaits exit. */
import { readFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';

const OUTPUT_LIMIT = 16 * 1024;

/** A spawned server process with its recent output and a stop() that waits until it is gone. */
export interface ServerProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Last ~16 KiB of stdout and stderr, interleaved, for error messages. */
  output(): string;
  /** Set once the process has exited (with a code or a signal). */
  exitStatus(): string | undefined;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts `command` with `args` and `env`, stdin closed, output captured. */
export function startServerProcess(
  name: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
): ServerProcess {
  const child = spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let exitStatus: string | undefined;
  const append = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_LIMIT);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<void>((resolve) => {
    child.once('error', (err) => {
      exitStatus = `failed to start: ${err.message}`;
      resolve();
    });
    child.once('exit', (code, signal) => {
      exitStatus = signal ? `killed by ${signal}` : `exited with code ${code}`;
      resolve();
    });
  });
  const stop = async (graceMs = 3000): Promise<void> => {
    if (exitStatus === undefined) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  return { name, child, output: () => output, exitStatus: () => exitStatus, stop };
}

/** True while `pid` is a live process (a zombie awaiting its reaper counts as gone). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** The pids of `pid`'s descendants (from /proc's children lists), deepest last. */
export function descendants(pid: number): number[] {
  let direct: number[] = [];
  try {
    direct = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
  return direct.flatMap((c) => [c, ...descendants(c)]);
}

/** SIGKILLs `pid` and every process under it at once, as a host losing power would: nothing cleans up. */
export function killTree(pid: number): void {
  for (const p of [pid, ...descendants(pid)]) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

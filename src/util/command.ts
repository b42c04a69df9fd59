import { PROVIDER_SECRETS } from '../dns/registry';
/** Secrets nrcert may find in its environment: no child it starts (hook, notification, settings.js probe) inherits them. */
export const SECRET_ENV: readonly string[] = [...PROVIDER_SECRETS, 'ACME_EAB_HMAC_KEY', 'NOTIFY_URL'];

/** `env` with every secret set to undefined (which removes an inherited variable from a child). */
export function withoutSecrets<T extends Record<string, string | undefined>>(env: T): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = { ...env };
  for (const name of SECRET_ENV) out[name] = undefined;
  return out;
}

/**
 * How a user's command ended: fine, or failed (with its exit code or why it could not start, and
 * its last output). `timedOut`: it was stopped at the timeout; `aborted`: nrcert was interrupted.
 */
export type CommandResult = { ok: true } | { ok: false; timedOut: boolean; aborted?: boolean; detail: string };

/** Options of runUserCommand. */
export interface UserCommandOptions {
  env: Record<string, string>;
  input?: string;
  timeoutMs: number;
  /** Stops the command (its whole process group) at once. */
  signal?: AbortSignal;
  /** Between SIGTERM and SIGKILL to the process group; 2 s unless told. */
  killGraceMs?: number;
  /** Run as this user (root only): e.g. npm in Node-RED's user dir, as the owner of that dir. */
  as?: { uid: number; gid: number };
  /** The working directory (default: ours). */
  cwd?: string;
}

const KEEP_OUTPUT = 4096;

/**
 * Process groups of commands still running. A command's own group no longer gets the terminal's
 * Ctrl-C, so when nrcert exits before it ends (a second Ctrl-C exits at once) the group is sent
 * SIGTERM on the way out: no hook outlives the run that started it.
 */
const running = new Set<number>();
let exitHook = false;

function track(pgid: number): void {
  running.add(pgid);
  if (exitHook) return;
  exitHook = true;
  process.on('exit', () => {
    for (const group of running) signalGroup(group, 'SIGTERM');
  });
}

/**
 * Runs a command from a setting (RESTART_COMMAND, NOTIFY_COMMAND) with execa: argv as given, no
 * shell, our environment plus `env` minus the secrets. It runs in a process group of its own
 * (`detached`), so at the timeout (or when `signal` fires) the whole group gets SIGTERM, then
 * SIGKILL after a short grace: a grandchild (`sleep 301 &` in a script) cannot outlive the
 * timeout. The command is done when it has exited and its output has closed (execa's own rule);
 * a process it started that detached from our output (a daemon) is left alone, one that still
 * holds it is part of the command. execa is ESM-only and loaded here, on first use, so no other
 * command pays for it.
 */
export async function runUserCommand(argv: string[], opts: UserCommandOptions): Promise<CommandResult> {
  const { execa } = await import('execa');
  const child = execa(argv[0], argv.slice(1), {
    env: withoutSecrets({ ...process.env, ...opts.env }),
    extendEnv: false,
    detached: true,
    reject: false,
    ...(opts.as ? { uid: opts.as.uid, gid: opts.as.gid } : {}),
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    all: true,
    // Not buffered by execa (a chatty hook must not hit maxBuffer): the last few KB are kept here.
    buffer: false,
    ...(opts.input === undefined ? { stdin: 'ignore' as const } : { input: opts.input }),
  });
  const pgid = child.pid;
  if (pgid !== undefined) track(pgid);
  let output = '';
  child.all?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-KEEP_OUTPUT)));
  return new Promise<CommandResult>((resolve) => {
    let settled = false;
    const finish = (result: CommandResult) => {
      if (settled) return;
      settled = true;
      if (pgid !== undefined) running.delete(pgid);
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      child.all?.destroy();
      resolve(result);
    };
    let stopping = false;
    const stop = (result: CommandResult) => {
      if (settled || stopping) return;
      stopping = true;
      clearTimeout(timer);
      // Settle once the group is gone or has been sent SIGKILL: never later than the grace.
      void (pgid === undefined ? Promise.resolve() : killGroup(pgid, opts.killGraceMs ?? 2000)).then(() => finish(result));
    };
    const seconds = opts.timeoutMs / 1000;
    const timer = setTimeout(() => stop({
      ok: false, timedOut: true,
      detail: child.exitCode === null && child.signalCode === null
        ? `did not finish within ${seconds} s`
        : `did not finish within ${seconds} s (it exited, but a process it started still held its output; stopped it)`,
    }), opts.timeoutMs);
    const onAbort = () => stop({ ok: false, timedOut: false, aborted: true, detail: 'was stopped: nrcert was interrupted' });
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
    void child.then((result) => {
      if (stopping) return;
      if (result.failed && result.exitCode === undefined && result.signal === undefined) {
        finish({ ok: false, timedOut: false, detail: `could not be run (${result.code ?? result.shortMessage})` });
        return;
      }
      finish(exitResult(result.exitCode ?? null, (result.signal ?? null) as NodeJS.Signals | null, output));
    });
  });
}

function exitResult(code: number | null, signal: NodeJS.Signals | null, output: string): CommandResult {
  if (code === 0) return { ok: true };
  const why = code !== null ? `exited with code ${code}` : `was killed by ${signal}`;
  const tail = output.trim().split('\n').slice(-3).join(' | ');
  return { ok: false, timedOut: false, detail: `${why}${tail ? `: ${tail}` : ''}` };
}

/** SIGTERM to the process group `pgid`, then SIGKILL after `graceMs` unless the group is gone by then. */
function killGroup(pgid: number, graceMs: number): Promise<void> {
  if (!signalGroup(pgid, 'SIGTERM')) return Promise.resolve();
  const deadline = Date.now() + graceMs;
  return new Promise((resolve) => {
    const poll = setInterval(() => {
      if (signalGroup(pgid, 0) && Date.now() < deadline) return;
      clearInterval(poll);
      signalGroup(pgid, 'SIGKILL');
      resolve();
    }, 50);
  });
}

/** Sends `signal` to every process of the group; false when no process is left in it. */
function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

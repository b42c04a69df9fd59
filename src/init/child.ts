import { spawn } from 'node:child_process';
import { constants } from 'node:os';

/**
 * Runs one nrcert command (`renew --dry-run`, `renew`) in a child process, its output streamed
 * to ours, so the ACME library and the Cloudflare SDK load only there. The child gets its own
 * process group: a Ctrl-C on the terminal reaches only us, and we pass exactly one SIGINT on
 * when `signal` aborts, so the child removes its TXT records before it stops (a second SIGINT
 * would make it quit at once). Resolves the exit code (128 + n when killed by signal n).
 */
export function runChild(node: string, args: string[], env: Record<string, string | undefined>, signal: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(node, args, { env, stdio: ['ignore', 'inherit', 'inherit'], detached: true });
    const onAbort = () => child.kill('SIGINT');
    signal.addEventListener('abort', onAbort, { once: true });
    child.once('error', (err) => {
      signal.removeEventListener('abort', onAbort);
      reject(err);
    });
    child.once('exit', (code, sig) => {
      signal.removeEventListener('abort', onAbort);
      resolve(code ?? 128 + (sig ? constants.signals[sig] : 0));
    });
    if (signal.aborted) onAbort();
  });
}

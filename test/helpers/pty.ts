/**
 * Drives a program through a real pseudo-terminal (python3's pty module, see pty.driver.py): waits for
 * each prompt, types the answer or Ctrl-C. The program sees a TTY on stdin, stdout and stderr,
 * so hidden input really runs in raw mode and Ctrl-C is the terminal's, as for a person.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';

/** One prompt to wait for (a regex over the output), a command to run then (as the person would), and what to type. */
export type PtyStep = { expect: string; send: string; run?: string[] } | { expect: string; ctrlc: true };

/** How the program ended and everything it printed (stdout and stderr, as the terminal showed them). */
export interface PtyResult {
  code: number | null;
  signal: string | null;
  output: string;
  /** Index of the step whose prompt never appeared, or null. */
  failedStep: number | null;
}

/** Runs `argv` in a pseudo-terminal, answering `steps` in order, for at most `timeoutMs`. */
export function runInPty(argv: string[], env: Record<string, string>, cwd: string, steps: PtyStep[], timeoutMs = 30_000): Promise<PtyResult> {
  const spec = JSON.stringify({ argv, env, cwd, steps, timeout: timeoutMs / 1000 });
  return new Promise((resolve, reject) => {
    execFile('python3', [join(__dirname, 'pty.driver.py'), spec], { timeout: timeoutMs + 5000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`pty.driver.py failed: ${err.message}\n${stderr}`));
      resolve(JSON.parse(stdout) as PtyResult);
    });
  });
}

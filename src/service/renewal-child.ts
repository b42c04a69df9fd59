/**
 * One renewal as a child process, `nrcert renew …` with the same settings, its output going to
 * ours (so under systemd its lines reach the journal as its own). The ACME library and the
 * Cloudflare SDK are loaded only in that child: the service and the spool processor stay small.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Config } from '../config/config';
import type { RunningRenewal } from './scheduler';

/** Starts `nrcert renew ARGS… [--env-file F]` (ARGS: e.g. `--scheduled`, or `--force --doctor`). */
export function startRenewalChild(config: Config, args: string[]): RunningRenewal {
  const cli = join(__dirname, '..', 'cli', 'index.js');
  const envFile = config.envFile ? ['--env-file', config.envFile] : [];
  const child = spawn(process.execPath, ['--', cli, 'renew', ...args, ...envFile], { stdio: ['ignore', 'inherit', 'inherit'], env: process.env });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', () => resolve({ code: null, signal: null }));
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return { child, done };
}

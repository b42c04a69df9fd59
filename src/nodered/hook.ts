import type { Logger } from '../log';
import { AbortedError, HookError } from '../errors';
import { runUserCommand } from '../util/command';

/** What the restart hook is told about the new certificate (also its environment). */
export interface HookContext {
  certDir: string;
  names: string[];
  lineage: string;
}

/**
 * Runs RESTART_COMMAND after a successful install: argv as given, no shell, with a timeout, and
 * the new files named in its environment (NRCERT_CERT, NRCERT_KEY, NRCERT_FULLCHAIN,
 * NRCERT_CHAIN, NRCERT_NAMES, NRCERT_LINEAGE). RESTART_TIMEOUT bounds the whole hook, processes it
 * started included (see runUserCommand); `signal` (Ctrl-C, SIGTERM) stops it at once. A failure is
 * a HookError; the certificate stays installed either way.
 */
export async function runRestartHook(argv: string[], timeoutMs: number, ctx: HookContext, logger: Logger, signal?: AbortSignal): Promise<void> {
  const env = {
    NRCERT_CERT_DIR: ctx.certDir,
    NRCERT_CERT: `${ctx.certDir}/cert.pem`,
    NRCERT_KEY: `${ctx.certDir}/privkey.pem`,
    NRCERT_FULLCHAIN: `${ctx.certDir}/fullchain.pem`,
    NRCERT_CHAIN: `${ctx.certDir}/chain.pem`,
    NRCERT_NAMES: ctx.names.join(','),
    NRCERT_LINEAGE: ctx.lineage,
  };
  logger.info({ command: argv[0] }, 'running RESTART_COMMAND');
  const result = await runUserCommand(argv, { env, timeoutMs, signal });
  if (signal?.aborted) {
    // Not the certificate's fault: it stays installed and pending, and the next run activates it.
    throw new AbortedError('interrupted while RESTART_COMMAND ran: the new certificate is installed; the next run restarts Node-RED for it');
  }
  if (!result.ok) {
    const setting = result.timedOut ? ' (RESTART_TIMEOUT)' : '';
    throw new HookError(`RESTART_COMMAND (${argv[0]}) ${result.detail}${setting}`);
  }
  logger.info({ command: argv[0] }, 'RESTART_COMMAND succeeded');
}

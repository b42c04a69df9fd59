import type { Logger } from '../log';
import { HookError } from '../errors';

/** What the restart hook is told about the new certificate (also its environment). */
export interface HookContext {
  certDir: string;
  names: string[];
  lineage: string;
}

/**
 * Runs RESTART_COMMAND after a successful install: argv as given, no shell, with a timeout, and
 * the new files named in its environment (NRCERT_CERT, NRCERT_KEY, NRCERT_FULLCHAIN,
 * NRCERT_CHAIN, NRCERT_NAMES, NRCERT_LINEAGE). A failure is a HookError; the certificate stays
 * installed either way.
 */
export async function runRestartHook(argv: string[], timeoutMs: number, ctx: HookContext, logger: Logger): Promise<void> {
  const { execa } = await import('execa');
  const env = {
    NRCERT_CERT_DIR: ctx.certDir,
    NRCERT_CERT: `${ctx.certDir}/cert.pem`,
    NRCERT_KEY: `${ctx.certDir}/privkey.pem`,
    NRCERT_FULLCHAIN: `${ctx.certDir}/fullchain.pem`,
    NRCERT_CHAIN: `${ctx.certDir}/chain.pem`,
    NRCERT_NAMES: ctx.names.join(','),
    NRCERT_LINEAGE: ctx.lineage,
    // The hook inherits our environment, but not the secrets in it.
    CLOUDFLARE_API_TOKEN: undefined,
    ACME_EAB_HMAC_KEY: undefined,
    NOTIFY_URL: undefined,
  };
  logger.info({ command: argv[0] }, 'running RESTART_COMMAND');
  const result = await execa(argv[0], argv.slice(1), { env, timeout: timeoutMs, reject: false, stdin: 'ignore', all: true, forceKillAfterDelay: 5000 });
  if (result.timedOut) {
    throw new HookError(`RESTART_COMMAND (${argv[0]}) did not finish within ${timeoutMs / 1000} s (RESTART_TIMEOUT); the new certificate is installed, restart Node-RED by hand`);
  }
  if (result.failed) {
    const why = result.exitCode !== undefined ? `exited with code ${result.exitCode}` : (result.code ?? result.shortMessage);
    const tail = (result.all ?? '').toString().trim().split('\n').slice(-3).join(' | ');
    throw new HookError(`RESTART_COMMAND (${argv[0]}) ${why}${tail ? `: ${tail}` : ''}; the new certificate is installed, restart Node-RED by hand`);
  }
  logger.info({ command: argv[0] }, 'RESTART_COMMAND succeeded');
}

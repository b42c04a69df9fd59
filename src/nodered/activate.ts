import type { Logger } from '../log';
import type { Config } from '../config/config';
import type { Activator } from '../renewal/ports';
import { runRestartHook } from './hook';
import { waitUntilServed } from './verify';

/** What activation needs: the settings, the resolved restart argv, the run's signal. */
export interface ActivateDeps {
  config: Config;
  logger: Logger;
  /** RESTART_COMMAND with `auto` resolved; undefined for none. */
  restartArgv?: string[];
  signal?: AbortSignal;
}

/**
 * Makes Node-RED use the lineage now current in CERT_DIR: runs the restart hook, then, when
 * NODE_RED_URL is set, checks with a TLS handshake that the served leaf is that lineage's.
 * Throws HookError when either fails; the caller decides about rolling back.
 */
export function nodeRedActivator(deps: ActivateDeps): Activator {
  const { config, logger } = deps;
  return {
    async activate(lineage) {
      if (deps.restartArgv) {
        await runRestartHook(deps.restartArgv, config.restart!.timeoutMs, { certDir: config.certDir, names: lineage.info.names, lineage: lineage.id }, logger, deps.signal);
      }
      if (config.nodeRed.url) {
        await waitUntilServed({
          url: config.nodeRed.url,
          servername: config.nodeRed.servername,
          fingerprint256: lineage.info.fingerprint256,
          timeoutMs: config.nodeRed.verifyTimeoutMs,
          logger,
          signal: deps.signal,
        });
      }
    },
  };
}

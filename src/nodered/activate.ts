import type { Logger } from '../log';
import type { Config } from '../config/config';
import type { FileCertStore } from '../store/cert-dir';
import { HookError, RolledBackError } from '../errors';
import { readInstalledCertificate } from '../store/pem';
import { runRestartHook } from './hook';
import { waitUntilServed } from './verify';

/** What activation needs: the settings, the resolved restart argv, the store holding CERT_DIR. */
export interface ActivateDeps {
  config: Config;
  logger: Logger;
  store: FileCertStore;
  /** RESTART_COMMAND with `auto` resolved; undefined for none. */
  restartArgv?: string[];
  signal?: AbortSignal;
}

/**
 * Makes Node-RED use the certificate now current in CERT_DIR: runs the restart hook, then, when
 * NODE_RED_URL is set, checks with a TLS handshake that the served leaf is the installed one.
 * Throws HookError when either fails.
 */
export async function restartAndVerify(deps: ActivateDeps): Promise<void> {
  const { config, logger } = deps;
  const current = await readInstalledCertificate(config.certDir);
  if (!current) throw new HookError(`no certificate is installed in ${config.certDir}`);
  if (deps.restartArgv) {
    const lineage = (await deps.store.current())?.id ?? '';
    await runRestartHook(deps.restartArgv, config.restart!.timeoutMs, { certDir: config.certDir, names: current.info.names, lineage }, logger);
  }
  if (config.nodeRed.url) {
    await waitUntilServed({
      url: config.nodeRed.url,
      servername: config.nodeRed.servername,
      fingerprint256: current.info.fingerprint256,
      timeoutMs: config.nodeRed.verifyTimeoutMs,
      logger,
      signal: deps.signal,
    });
  }
}

/**
 * Activates a freshly installed certificate; when Node-RED does not take it, puts the previous
 * lineage back (one atomic swap), activates that, and throws RolledBackError saying so. With no
 * previous lineage there is nothing to go back to: the new certificate stays, and the HookError
 * says that.
 */
export async function activateOrRollBack(deps: ActivateDeps): Promise<void> {
  try {
    await restartAndVerify(deps);
  } catch (err) {
    if (!(err instanceof HookError)) throw err;
    if (!(await deps.store.previous())) {
      throw new HookError(`${err.message}; there is no previous certificate to roll back to, so the new one stays installed`, { cause: err });
    }
    deps.logger.error({ error: err.message }, 'Node-RED did not take the new certificate; rolling back');
    const restored = await deps.store.rollback();
    let outcome = 'and Node-RED serves it again';
    try {
      await restartAndVerify(deps);
    } catch (again) {
      outcome = `but activating it failed too: ${(again as Error).message}`;
    }
    const info = (await readInstalledCertificate(deps.config.certDir))?.info;
    throw new RolledBackError(
      `${err.message}. Rolled back: the previous certificate (${restored}, valid until ${info?.notAfter.toISOString()}) is installed again, ${outcome}.`,
      { cause: err },
    );
  }
}

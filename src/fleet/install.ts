/**
 * A member installing the fleet's certificate: the same validate-then-swap path as a renewal
 * (validateCertificateSet, FileCertStore's one atomic swap, then activation with rollback from
 * renewal/rollback.ts), under the local STATE_DIR lock, the lineage bookkeeping kept in the state.
 */
import type { Logger } from '../log';
import type { Activator, Locker, Reporter, StateStore } from '../renewal/ports';
import { serviceStatus } from '../renewal/attempt';
import { emptyRecord, markPending, protectedLineages } from '../renewal/lineages';
import { activateOrRollBack } from '../renewal/rollback';
import type { RunContext } from '../renewal/run';
import type { FileCertStore } from '../store/cert-dir';
import { validateCertificateSet } from '../store/validate';
import type { FleetConfig } from './config';
import { openSet, type StoredSet } from './set';
import { FleetKeyError } from './errors';
import { exitCodeOf, RolledBackError } from '../errors';

/** What installing needs: this host's store, lock, state and activation. */
export interface InstallDeps {
  fleet: FleetConfig;
  names: string[];
  store: FileCertStore;
  lock: Locker;
  state: StateStore;
  activator: Activator;
  logger: Logger;
  now: () => Date;
  /** status.json and METRICS_FILE, rewritten after an install as a renewal does. */
  writeStatus: Reporter['writeStatus'];
}

/** What a sync did, as reported under hosts/HOST. */
export type SyncOutcome = 'current' | 'installed' | 'rolled_back' | 'key_error' | 'invalid' | 'failed' | 'empty';

/**
 * Makes CERT_DIR hold the fleet's set: nothing when it already does; otherwise open the key,
 * validate, swap, activate (rolling back when Node-RED does not take it). Never throws for a bad
 * set: the outcome and a message say what happened and the installed certificate stays.
 */
export async function installFleetSet(deps: InstallDeps, stored: StoredSet | null): Promise<{ outcome: SyncOutcome; message: string }> {
  if (!stored) return { outcome: 'empty', message: 'the fleet has no certificate yet' };
  const installed = await deps.store.installed();
  if (installed?.info.fingerprint256 === stored.meta.fingerprint256) return { outcome: 'current', message: `version ${stored.meta.version} installed` };
  let set;
  try {
    set = openSet(stored, deps.fleet.key, deps.fleet.name);
    validateCertificateSet(set, { names: deps.names, now: deps.now() });
  } catch (err) {
    const outcome = err instanceof FleetKeyError ? 'key_error' : 'invalid';
    deps.logger.error({ version: stored.meta.version }, `not installing the fleet's certificate: ${(err as Error).message}`);
    return { outcome, message: (err as Error).message };
  }
  const release = await deps.lock.acquire('fleet install');
  try {
    const run: RunContext = { state: await deps.state.read(), installed, ordered: false };
    const record = run.state.lineages ?? emptyRecord();
    const { id } = await deps.store.install(set, { protect: protectedLineages(record, await deps.store.lineages(), installed?.id ?? null) });
    run.state.lineages = markPending(record, stored.meta.fingerprint256, deps.now(), id);
    run.installed = { id, info: validateCertificateSet(set, { names: deps.names, now: deps.now() }), pem: set.cert };
    deps.logger.info({ lineage: id, version: stored.meta.version }, 'installed the fleet\'s certificate');
    const at = deps.now().toISOString();
    try {
      await activateOrRollBack(deps, run, { id, info: run.installed.info, pem: set.cert });
      const message = `version ${stored.meta.version} of the fleet's certificate installed as ${id}`;
      Object.assign(run.state, { consecutiveFailures: 0, lastSuccessAt: at, lastRun: { at, outcome: 'renewed', message, exitCode: 0 } });
      return { outcome: 'installed', message };
    } catch (err) {
      deps.logger.error({ lineage: id }, (err as Error).message);
      const outcome = err instanceof RolledBackError ? 'rolled_back' : 'failed';
      run.state.lastRun = { at, outcome, message: (err as Error).message, exitCode: exitCodeOf(err) };
      return { outcome, message: (err as Error).message };
    } finally {
      await deps.state.write(run.state);
      await deps.writeStatus(serviceStatus(deps.now(), run.installed?.info ?? null, run.state))
        .catch((err: Error) => deps.logger.warn({ error: err.message }, 'could not write the status files'));
    }
  } finally {
    await release();
  }
}

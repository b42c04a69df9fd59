/**
 * A member installing the fleet's certificate: the same validate-then-swap path as a renewal
 * (validateCertificateSet, FileCertStore's one atomic swap, then activation with rollback from
 * renewal/rollback.ts), under the local STATE_DIR lock, the lineage bookkeeping kept in the state.
 */
import type { Logger } from '../log';
import type { Activator, Locker, StateStore } from '../renewal/ports';
import { emptyRecord, markPending, protectedLineages } from '../renewal/lineages';
import { activateOrRollBack } from '../renewal/rollback';
import type { RunContext } from '../renewal/run';
import type { FileCertStore } from '../store/cert-dir';
import { validateCertificateSet } from '../store/validate';
import type { FleetConfig } from './config';
import { openSet, type StoredSet } from './set';
import { FleetKeyError } from './errors';

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
    try {
      await activateOrRollBack(deps, run, { id, info: run.installed.info, pem: set.cert });
      return { outcome: 'installed', message: `version ${stored.meta.version} installed as ${id}` };
    } catch (err) {
      deps.logger.error({ lineage: id }, (err as Error).message);
      return { outcome: 'rolled_back', message: (err as Error).message };
    } finally {
      await deps.state.write(run.state);
    }
  } finally {
    await release();
  }
}

/**
 * Builds the renewal engine's collaborators from the configuration: the file-backed store,
 * archive, lock and state, Node-RED activation, ARI, notifications and status files, and (on first
 * need only) the ACME issuer with the Cloudflare provider. `renew` and `rollback` share it.
 */
import { createDnsProvider } from '../dns/registry';
import type { Config } from '../config/config';
import type { Logger } from '../log';
import { FileCertStore } from '../store/cert-dir';
import { acquireLock } from '../store/lock';
import { archiveLineage, listArchived, readArchived } from '../store/archive';
import { statePath } from '../store/state-dir';
import { fileStateStore } from '../renewal/state';
import { currentAri } from '../renewal/ari-state';
import type { Archive, Issuer, Locker, Reporter } from '../renewal/ports';
import type { RenewDeps } from '../renewal/renew';
import { nodeRedActivator } from '../nodered/activate';
import type { Progress } from '../util/progress';
import { ensureStateDir } from '../store/state';

/** What the commands pass in besides the settings. */
export interface RenewDepsOptions {
  config: Config;
  logger: Logger;
  ownership?: { uid?: number; gid?: number };
  restartArgv?: string[];
  signal?: AbortSignal;
  progress?: Progress;
}

/** The file-backed store of CERT_DIR with its owner and group. */
export function certStore(o: RenewDepsOptions): FileCertStore {
  return new FileCertStore(o.config.certDir, { owner: o.ownership?.uid, group: o.ownership?.gid });
}

/** The renewal lock in STATE_DIR (created 0700 when missing). */
export function stateLock(stateDir: string): Locker {
  return {
    async acquire(command) {
      ensureStateDir(stateDir);
      return acquireLock(statePath(stateDir, 'lock'), { command });
    },
  };
}

/** STATE_DIR/archive behind the Archive port. */
export function stateArchive(stateDir: string): Archive {
  return {
    save: async (id, set) => { await archiveLineage(stateDir, id, set); },
    ids: () => listArchived(stateDir),
    read: (id) => readArchived(stateDir, id),
  };
}

/** Everything `renew` needs. The issuer (acme-client, the Cloudflare SDK) is loaded on first use only. */
export function renewDeps(o: RenewDepsOptions & { reporter: Reporter }): RenewDeps {
  const { config, logger } = o;
  let issuer: Issuer | undefined;
  return {
    names: config.domains,
    directoryUrl: config.acme.directoryUrl,
    logger,
    now: () => new Date(),
    issuer: () => (issuer ??= createIssuer(o)),
    ...storage(o),
    archive: stateArchive(config.stateDir),
    state: fileStateStore(config.stateDir),
    activator: nodeRedActivator({ config, logger, restartArgv: o.restartArgv, signal: o.signal }),
    ari: { lookup: (installed) => currentAri(config, installed.pem, { logger, now: () => new Date() }) },
    reporter: o.reporter,
  };
}

/**
 * Where the lineage lives and who may write it (certmagic's Storage: Locker + Store): CERT_DIR and
 * STATE_DIR/lock, or, with FLEET_* set, the fleet's etcd in front of them (loaded only then).
 */
function storage(o: RenewDepsOptions): Pick<RenewDeps, 'store' | 'lock'> {
  const local = { store: certStore(o), lock: stateLock(o.config.stateDir) };
  const fleet = o.config.fleet;
  if (!fleet) return local;
  const { EtcdClient } = require('../fleet/etcd') as typeof import('../fleet/etcd');
  const { FleetCertStore, fleetLocker } = require('../fleet/store') as typeof import('../fleet/store');
  const ctx = { etcd: new EtcdClient(fleet, etcdTimeoutMs(fleet.leaseTtlSeconds)), fleet, logger: o.logger };
  return { store: new FleetCertStore(ctx, local.store), lock: fleetLocker(ctx, local.lock) };
}

/** One etcd request may take at most half a lease (and 5 s): a keepalive that hangs must not outlive the lease. */
export function etcdTimeoutMs(leaseTtlSeconds: number): number {
  return Math.min(5000, leaseTtlSeconds * 500);
}

function createIssuer(o: RenewDepsOptions): Issuer {
  const { config, logger } = o;
  const { acmeIssuer } = require('../acme/issuer') as typeof import('../acme/issuer');
  const dns = createDnsProvider(config.dns, { stateDir: config.stateDir, logger, signal: o.signal });
  return acmeIssuer({ config, logger, dns, signal: o.signal, progress: o.progress });
}

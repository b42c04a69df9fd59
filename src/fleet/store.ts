/**
 * The fleet behind the renewal engine's ports (certmagic's Storage = Locker + Store): the engine
 * runs unchanged on the issuer, and never learns it is in a fleet.
 *
 * - FleetLocker: the local STATE_DIR lock, then etcd's Lock service on a lease kept alive while
 *   the run lasts; a run that dies loses the lock with its lease (FLEET_LEASE_TTL).
 * - FleetCertStore: what is "installed" is the fleet's certificate (check storage again, as
 *   certmagic does: a new issuer does not order what the fleet already has); `install` publishes
 *   the validated set in one txn fenced by the lock, then installs it locally like today.
 */
import { LockedError } from '../errors';
import type { Logger } from '../log';
import type { CertStore, Locker } from '../renewal/ports';
import type { FileCertStore } from '../store/cert-dir';
import { certificateInfo } from '../store/pem';
import type { CertificateSet, Installed } from '../store/types';
import type { FleetConfig } from './config';
import type { EtcdClient } from './etcd';
import { fleetKeys, publishSet, readStoredSet } from './set';
import { keepLeaseAlive } from './lease';

/** What the fleet ports share: the client, the settings, the run's lock key once held. */
export interface FleetContext {
  etcd: EtcdClient;
  fleet: FleetConfig;
  logger: Logger;
  /** Set by the locker while the run holds etcd's lock. */
  lockKey?: string;
}

/** How long a run waits for the fleet's lock before giving up (another host renews). */
const LOCK_WAIT_MS = 10_000;

/** The local lock, then the fleet's etcd lock; release gives up both. */
export function fleetLocker(ctx: FleetContext, local: Locker): Locker {
  return {
    async acquire(command) {
      const releaseLocal = await local.acquire(command);
      try {
        const lease = await ctx.etcd.grant(ctx.fleet.leaseTtlSeconds);
        const alive = keepLeaseAlive(ctx.etcd, lease, ctx.fleet.leaseTtlSeconds, ctx.logger);
        const wait = AbortSignal.timeout(LOCK_WAIT_MS);
        try {
          ctx.lockKey = await ctx.etcd.lock(fleetKeys(ctx.fleet.name).lock, lease, wait);
        } catch (err) {
          alive.stop();
          await ctx.etcd.revoke(lease).catch(() => undefined);
          if (wait.aborted) throw new LockedError(`another host of fleet ${ctx.fleet.name} holds its renewal lock; this run stops (it renews, or the next check does)`);
          throw err;
        }
        ctx.logger.debug({ fleet: ctx.fleet.name }, 'holding the fleet\'s renewal lock');
        return async () => {
          alive.stop();
          const key = ctx.lockKey!;
          ctx.lockKey = undefined;
          await ctx.etcd.unlock(key).catch(() => undefined);
          await ctx.etcd.revoke(lease).catch(() => undefined);
          await releaseLocal();
        };
      } catch (err) {
        await releaseLocal();
        throw err;
      }
    },
  };
}

/** CERT_DIR as today, with the fleet's certificate as the one the policy looks at. */
export class FleetCertStore implements CertStore {
  constructor(private readonly ctx: FleetContext, private readonly local: FileCertStore) {}

  async installed(): Promise<Installed | null> {
    const local = await this.local.installed();
    const stored = await readStoredSet(this.ctx.etcd, this.ctx.fleet.name);
    if (!stored || local?.info.fingerprint256 === stored.meta.fingerprint256) return local;
    // The fleet has another certificate than CERT_DIR: decide on the fleet's (the service installs it here).
    this.ctx.logger.info({ version: stored.meta.version, fingerprint256: stored.meta.fingerprint256 }, 'the fleet\'s certificate differs from the one in CERT_DIR; deciding on the fleet\'s');
    return { id: null, info: certificateInfo(stored.cert), pem: stored.cert };
  }

  lineages(): Promise<string[]> {
    return this.local.lineages();
  }

  read(id: string): Promise<CertificateSet> {
    return this.local.read(id);
  }

  async install(set: CertificateSet, opts: { protect: string[] }): Promise<{ id: string }> {
    if (!this.ctx.lockKey) throw new LockedError('the fleet\'s renewal lock is not held; nothing was published');
    const info = certificateInfo(set.cert);
    const meta = await publishSet(this.ctx.etcd, {
      name: this.ctx.fleet.name, key: this.ctx.fleet.key, lockKey: this.ctx.lockKey, set,
      meta: { lineage: info.serial, fingerprint256: info.fingerprint256, notAfter: info.notAfter.toISOString(), issuedBy: this.ctx.fleet.host, at: new Date().toISOString() },
    });
    this.ctx.logger.info({ fleet: this.ctx.fleet.name, version: meta.version }, 'certificate published to the fleet');
    return this.local.install(set, opts);
  }

  switchTo(id: string): Promise<void> {
    return this.local.switchTo(id);
  }
}

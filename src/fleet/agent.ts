/**
 * The fleet inside `nrcert run`: one session at a time on an etcd lease. In a session the host
 * campaigns for issuer (etcd's Election service, when FLEET_ROLE and the token allow), watches the
 * fleet's set and installs every new version (install.ts), and reports what it has under
 * hosts/HOST on its lease. Every connection is outbound; nothing listens.
 *
 * When etcd cannot be reached the session ends (the lease cannot be kept), the host stops being
 * issuer, keeps serving what it has, logs one line, and retries with a bounded back-off; the next
 * session catches up on whatever it missed (it reads the set before watching).
 */
import type { Logger } from '../log';
import { ExitCode, LockedError } from '../errors';
import { sleep } from '../util/sleep';
import type { FleetConfig } from './config';
import type { EtcdClient } from './etcd';
import { installFleetSet, type InstallDeps, type SyncOutcome } from './install';
import { keepLeaseAlive } from './lease';
import { fleetKeys, readStoredSet, writeReport } from './set';

/** What the agent needs besides the client: installing, whether it may issue, what to do when elected. */
export interface AgentDeps {
  etcd: EtcdClient;
  fleet: FleetConfig;
  logger: Logger;
  install: InstallDeps;
  /** True when this host may be elected (FLEET_ROLE=issuer, or auto with a token). */
  mayIssue: boolean;
  /** Called when this host becomes the issuer (a renewal check is started). */
  onElected(): void;
}

/** Failed renewal checks in a row after which the issuer hands over (another host may have a working token). */
export const HANDOVER_AFTER_FAILURES = 3;

/** The longest wait between two reconnection attempts. */
const MAX_BACKOFF_MS = 30_000;
/** The pause before a broken campaign or watch request is sent again within a session. */
const RETRY_MS = 300;

/** A fleet member's life in the service. */
export class FleetAgent {
  #issuer = false;
  #stop = new AbortController();
  #done?: Promise<void>;
  #queue: Promise<number> = Promise.resolve(0);
  #failedChecks = 0;
  #handOver?: () => void;
  /** Until then this host does not campaign (it just handed over). */
  #campaignAfter = 0;
  #last: { outcome: SyncOutcome; message: string; fingerprint256?: string; version?: number } = { outcome: 'empty', message: 'starting' };

  constructor(private readonly deps: AgentDeps) {}

  /** True while this host leads the fleet's election. */
  get isIssuer(): boolean {
    return this.#issuer;
  }

  /**
   * How the issuer's renewal check ended (its exit code). After HANDOVER_AFTER_FAILURES failures in a row the
   * issuer resigns (its lease ends) and stays out of the election for one lease TTL, so another
   * host that may issue is elected; with none, this one is elected again.
   */
  checkFinished(code: number | null): void {
    // Busy (another run holds the lock) or etcd away says nothing about this host's token or DNS.
    if (code === ExitCode.locked || code === ExitCode.fleet || code === ExitCode.interrupted) return;
    this.#failedChecks = code === 0 ? 0 : this.#failedChecks + 1;
    if (!this.#issuer || this.#failedChecks < HANDOVER_AFTER_FAILURES) return;
    this.deps.logger.warn({ fleet: this.deps.fleet.name, failures: this.#failedChecks }, `fleet: ${this.#failedChecks} renewal checks failed in a row; handing the issuer role over to another host`);
    this.#failedChecks = 0;
    this.#campaignAfter = Date.now() + this.deps.fleet.leaseTtlSeconds * 1000;
    this.#handOver?.();
  }

  /** Starts the sessions (in the background until stop()). */
  start(): void {
    this.#done = this.#loop();
  }

  /** Ends the session: resigns by revoking the lease (the next issuer is elected at once). */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#done;
  }

  async #loop(): Promise<void> {
    let failures = 0;
    while (!this.#stop.signal.aborted) {
      let connected = false;
      try {
        await this.#session(() => {
          connected = true;
          if (failures > 0) this.deps.logger.info({ fleet: this.deps.fleet.name }, 'etcd reachable again; catching up with the fleet');
          failures = 0;
        });
      } catch (err) {
        if (this.#stop.signal.aborted) break;
        if (connected) {
          // A session that worked and broke (a member went away, a stream ended): reconnect at once,
          // through the other endpoints; only a fleet that cannot be reached at all is an error.
          this.deps.logger.info({ error: (err as Error).message }, 'fleet: the session with etcd ended; reconnecting');
          await sleep(200, this.#stop.signal).catch(() => undefined);
          continue;
        }
        failures += 1;
        const waitMs = Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(failures, 6));
        // One clear line when the fleet is lost; the retries after it are debug.
        if (failures === 1) this.deps.logger.error({ fleet: this.deps.fleet.name, endpoints: this.deps.fleet.endpoints }, `fleet: etcd is unreachable (${(err as Error).message}); serving the installed certificate and retrying`);
        else this.deps.logger.debug({ retryInMs: waitMs, error: (err as Error).message }, 'fleet: etcd still unreachable');
        await sleep(waitMs, this.#stop.signal).catch(() => undefined);
      }
    }
  }

  /** One session on one lease; returns when stopped, rejects when etcd is lost. */
  async #session(onConnected: () => void): Promise<void> {
    const { etcd, fleet, logger } = this.deps;
    const lease = await etcd.grant(fleet.leaseTtlSeconds);
    onConnected();
    const live = keepLeaseAlive(etcd, lease, fleet.leaseTtlSeconds, logger);
    const session = new AbortController();
    const stop = () => session.abort();
    this.#stop.signal.addEventListener('abort', stop, { once: true });
    // A stop that came while the lease was being granted has fired already: the listener above
    // never will, and the session would wait for ever.
    if (this.#stop.signal.aborted) stop();
    this.#handOver = stop;
    try {
      const revision = await this.#sync(lease);
      const lost = live.lost.then(() => { throw new Error(`the fleet lease ended (no keepalive for ${fleet.leaseTtlSeconds} s)`); });
      const ended = session.signal.aborted ? Promise.resolve() : new Promise<void>((resolve) => session.signal.addEventListener('abort', () => resolve(), { once: true }));
      await Promise.race([lost, ended, this.#watch(lease, revision + 1, session.signal), this.deps.mayIssue ? this.#campaign(lease, session.signal) : new Promise<void>(() => undefined)]);
    } finally {
      this.#stop.signal.removeEventListener('abort', stop);
      session.abort();
      live.stop();
      if (this.#issuer) logger.info({ fleet: fleet.name }, 'no longer the fleet\'s issuer');
      this.#issuer = false;
      // End the lease now (bounded; fails quietly when etcd is gone), so the next issuer, or this
      // host's next session, need not wait out its TTL behind an election key nobody keeps.
      await etcd.revoke(lease).catch(() => undefined);
    }
  }

  /**
   * Waits to be elected; then this host is the issuer until the session ends. A campaign request
   * that breaks (its member went away) is sent again on the same lease: etcd finds the election
   * key this lease already has and goes on waiting in the same place (or answers at once).
   */
  async #campaign(lease: string, signal: AbortSignal): Promise<never> {
    const wait = this.#campaignAfter - Date.now();
    if (wait > 0) await sleep(wait, signal);
    for (;;) {
      try {
        await this.deps.etcd.campaign(fleetKeys(this.deps.fleet.name).election, lease, this.deps.fleet.host, signal);
        break;
      } catch (err) {
        if (signal.aborted) throw err;
        this.deps.logger.debug({ error: (err as Error).message }, 'fleet: campaign interrupted; asking again');
        await sleep(RETRY_MS, signal);
      }
    }
    this.#issuer = true;
    this.deps.logger.info({ fleet: this.deps.fleet.name, host: this.deps.fleet.host }, 'this host is now the fleet\'s issuer');
    await this.#report(lease);
    this.deps.onElected();
    return new Promise<never>(() => undefined);
  }

  /**
   * Watches the set; every change is installed. A stream that breaks is opened again (through
   * another member) after a sync, from the revision that sync read: nothing is missed. Only
   * the lease ending ends the session.
   */
  async #watch(lease: string, fromRevision: number, signal: AbortSignal): Promise<never> {
    const key = `${fleetKeys(this.deps.fleet.name).set}version`;
    let from = fromRevision;
    for (;;) {
      try {
        await this.deps.etcd.watch(key, { fromRevision: from }, (revision) => {
          from = revision + 1;
          void this.#sync(lease).catch((err: Error) => this.deps.logger.warn(`fleet: ${err.message}`));
        }, signal);
      } catch (err) {
        if (signal.aborted) throw err;
        this.deps.logger.debug({ error: (err as Error).message }, 'fleet: the watch broke; watching again');
      }
      await sleep(RETRY_MS, signal);
      from = Math.max(from, (await this.#sync(lease).catch(() => from - 1)) + 1);
    }
  }

  /** Installs what the fleet has (when it differs) and reports the result, one sync at a time; the revision read. */
  #sync(lease: string): Promise<number> {
    const next = this.#queue.catch(() => 0).then(() => this.#syncOnce(lease));
    this.#queue = next;
    return next;
  }

  async #syncOnce(lease: string): Promise<number> {
    const stored = await readStoredSet(this.deps.etcd, this.deps.fleet.name);
    let result: { outcome: SyncOutcome; message: string };
    try {
      result = await installFleetSet(this.deps.install, stored);
    } catch (err) {
      if (!(err instanceof LockedError)) throw err;
      // A renewal of this host holds STATE_DIR's lock: it installs the same set; look again soon.
      setTimeout(() => { void this.#sync(lease).catch(() => undefined); }, 500).unref();
      return stored?.revision ?? 0;
    }
    const installed = await this.deps.install.store.installed();
    this.#last = { ...result, fingerprint256: installed?.info.fingerprint256, version: installed?.info.fingerprint256 === stored?.meta.fingerprint256 ? stored?.meta.version : undefined };
    await this.#report(lease);
    return stored?.revision ?? (await this.deps.etcd.range(fleetKeys(this.deps.fleet.name).set, { prefix: true })).revision;
  }

  async #report(lease: string): Promise<void> {
    await writeReport(this.deps.etcd, this.deps.fleet, lease, { ...this.#last, issuer: this.#issuer, role: this.deps.fleet.role });
  }
}

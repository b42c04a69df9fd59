import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log';
import type { Config } from '../config/config';
import { ACME_DIRECTORIES } from '../config/config';
import { challengeRecordName } from '../config/domains';
import type { DnsProvider } from '../dns/provider';
import type { CertificateInfo, CertificateSet } from '../store/types';
import { AcmeError } from '../errors';
import { acquireLock } from '../store/lock';
import { readInstalledCertificate } from '../store/pem';
import { validateCertificateSet } from '../store/validate';
import { archiveLineage } from '../store/archive';
import { FileCertStore } from '../store/cert-dir';
import { writeState } from '../store/state';
import { activateOrRollBack } from '../nodered/activate';
import { forgetAccount, openAccount } from '../acme/account';
import { obtainCertificate } from '../acme/order';
import { decideRenewal, type RenewalDecision } from './policy';
import { currentAri, type AriView } from './ari-state';
import type { Progress } from '../util/progress';
import { statePath } from '../store/state-dir';

/** What a renewal needs, built by the CLI (or a test) and passed in. */
export interface RenewDeps {
  config: Config;
  logger: Logger;
  now: () => Date;
  /** Creates the DNS provider on first need (so a run that is not due never loads its SDK). */
  dnsProvider: () => DnsProvider;
  /** Permission settings resolved from CERT_OWNER / CERT_GROUP. */
  ownership?: { uid?: number; gid?: number };
  /** RESTART_COMMAND with `auto` resolved; undefined for none. */
  restartArgv?: string[];
  signal?: AbortSignal;
  /** Shows long waits on a terminal. */
  progress?: Progress;
}

/** What the user asked for: `--force`, `--dry-run`. */
export interface RenewOptions {
  force?: boolean;
  dryRun?: boolean;
  /** Back-off after failures: a due renewal is held until then (scheduled runs only). */
  notBefore?: Date;
}

/** What happened, for the CLI to report. */
export type RenewOutcome =
  | { action: 'skipped'; decision: RenewalDecision; installed: CertificateInfo }
  | { action: 'held'; decision: RenewalDecision; until: Date }
  | { action: 'dry-run'; certificate: CertificateInfo; directoryUrl: string }
  | { action: 'renewed'; certificate: CertificateInfo; lineage: string; decision: RenewalDecision };

/**
 * One renewal, certmagic's way: decide (pure policy, logged with its reason); take the lock and
 * decide again; check the DNS provider can see every zone before any ACME order exists; obtain;
 * validate the result; only then install it atomically, archive it, record state, and make
 * Node-RED use it (restart hook, served-certificate check, rollback when it does not).
 */
export async function renew(deps: RenewDeps, options: RenewOptions = {}): Promise<RenewOutcome> {
  const { config, logger } = deps;
  const first = await decide(deps, options);
  if (first.outcome) return first.outcome;
  await mkdir(config.stateDir, { recursive: true, mode: 0o700 });
  const release = await acquireLock(statePath(config.stateDir, 'lock'), { command: 'renew' });
  try {
    const second = await decide(deps, options, 'debug', first);
    if (second.outcome) return second.outcome;
    const directoryUrl = options.dryRun ? dryRunDirectory(config.acme.directoryUrl) : config.acme.directoryUrl;
    const set = await issue(deps, directoryUrl, options.dryRun ? undefined : second.ari.replaces);
    const certificate = validateCertificateSet(set, { names: config.domains, now: deps.now() });
    if (options.dryRun) {
      logger.info({ directory: directoryUrl, names: certificate.names }, 'dry run: certificate obtained and valid; nothing installed');
      return { action: 'dry-run', certificate, directoryUrl };
    }
    const lineage = await install(deps, set);
    return { action: 'renewed', certificate, lineage, decision: second.decision };
  } finally {
    await release();
  }
}

interface Decided {
  decision: RenewalDecision;
  ari: AriView;
  /** SHA-256 of the certificate decided about, so a second look can reuse the ARI answer. */
  fingerprint?: string;
  outcome?: RenewOutcome;
}

/** Decides (see policy.ts); `earlier` is the decision before the lock, whose ARI answer still holds for the same certificate. */
async function decide(deps: RenewDeps, options: RenewOptions, level: 'info' | 'debug' = 'info', earlier?: Decided): Promise<Decided> {
  if (options.dryRun) return { decision: { due: true, reason: 'dry run (--dry-run)' }, ari: {} };
  const current = await readInstalledCertificate(deps.config.certDir);
  const installed = current?.info ?? null;
  const fingerprint = installed?.fingerprint256;
  const ari = !current ? {} : earlier && earlier.fingerprint === fingerprint ? earlier.ari : await currentAri(deps.config, current.pem, deps);
  const decision = decideRenewal({ installed, names: deps.config.domains, now: deps.now(), force: options.force, ari: ari.advice });
  deps.logger[level]({ due: decision.due, dueAt: decision.dueAt?.toISOString(), nextCheck: decision.nextCheck?.toISOString() }, `renewal decision: ${decision.reason}`);
  if (!decision.due && installed) return { decision, ari, fingerprint, outcome: { action: 'skipped', decision, installed } };
  if (options.notBefore && !options.force && options.notBefore > deps.now()) {
    deps.logger[level]({ until: options.notBefore.toISOString() }, 'renewal due, but backing off after failed attempts');
    return { decision, ari, fingerprint, outcome: { action: 'held', decision, until: options.notBefore } };
  }
  return { decision, ari, fingerprint };
}

/** `--dry-run` orders from Let's Encrypt staging when the real target is production (as certbot does). */
export function dryRunDirectory(directoryUrl: string): string {
  return directoryUrl === ACME_DIRECTORIES.production ? ACME_DIRECTORIES.staging : directoryUrl;
}

async function issue(deps: RenewDeps, directoryUrl: string, replaces?: string): Promise<CertificateSet> {
  const { config, logger, signal } = deps;
  const dns = deps.dnsProvider();
  const fqdns = [...new Set(config.domains.map(challengeRecordName))];
  for (const fqdn of fqdns) await dns.zoneOf(fqdn);
  await dns.sweep(fqdns);
  const order = async () => {
    const client = await openAccount(config, directoryUrl, { logger, signal });
    return obtainCertificate({
      client, names: config.domains, keyType: config.acme.keyType, dns, logger, signal, replaces, profile: config.acme.profile, progress: deps.progress,
      resolvers: config.dns.resolvers, propagationTimeoutMs: config.dns.propagationTimeoutMs,
    });
  };
  try {
    return await order();
  } catch (err) {
    if (!(err instanceof AcmeError) || err.problemType !== 'accountDoesNotExist') throw err;
    logger.warn('the ACME server no longer knows our account; registering again');
    await forgetAccount(config.stateDir, directoryUrl);
    return order();
  }
}

async function install(deps: RenewDeps, set: CertificateSet): Promise<string> {
  const { config, logger } = deps;
  const store = new FileCertStore(config.certDir, { owner: deps.ownership?.uid, group: deps.ownership?.gid, clock: deps.now });
  const { id: lineage } = await store.install(set);
  await archiveLineage(config.stateDir, lineage, set);
  await writeState(join(config.stateDir, 'state.json'), { lastRenewal: { at: deps.now().toISOString(), lineage } });
  logger.info({ certDir: config.certDir, lineage }, 'certificate installed');
  await activateOrRollBack({ config, logger, store, restartArgv: deps.restartArgv, signal: deps.signal });
  return lineage;
}

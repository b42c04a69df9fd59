import type { Logger } from '../log';
import { ACME_DIRECTORIES } from '../config/config';
import { validateCertificateSet } from '../store/validate';
import type { CertificateInfo } from '../store/types';
import { decideRenewal, type RenewalDecision } from './policy';
import { clearPending, emptyRecord, markPending, protectedLineages } from './lineages';
import { activateOrRollBack } from './rollback';
import type { Activator, Archive, AriSource, CertStore, Issuer, Locker, Reporter, StateStore } from './ports';
import { installCurrent, type RunContext } from './run';

/** What a renewal needs, built by the CLI (`cli/renew-deps.ts`) or a test, and passed in. */
export interface RenewDeps {
  /** The names to cover and the CA to ask. */
  names: string[];
  directoryUrl: string;
  logger: Logger;
  now: () => Date;
  /** Created on first need, so a run that is not due never loads the ACME library or the DNS SDK. */
  issuer: () => Issuer;
  store: CertStore;
  archive: Archive;
  lock: Locker;
  state: StateStore;
  activator: Activator;
  ari: AriSource;
  reporter: Reporter;
}

/** What the user asked for: `--force`, `--dry-run`, `--scheduled` (honour the back-off). */
export interface RenewOptions {
  force?: boolean;
  dryRun?: boolean;
  scheduled?: boolean;
}

/** What happened, for the CLI to report. `warnings`: things that went wrong after the swap. */
export type RenewOutcome =
  | { action: 'skipped'; decision: RenewalDecision; installed: CertificateInfo }
  | { action: 'held'; decision: RenewalDecision; until: Date }
  | { action: 'dry-run'; certificate: CertificateInfo; directoryUrl: string }
  | { action: 'renewed'; certificate: CertificateInfo; lineage: string; decision: RenewalDecision; warnings: string[] };

/**
 * One renewal, certmagic's way, inside the lock the caller holds (see attempt.ts): finish an
 * activation a crashed run left pending; decide (pure policy, logged with its reason); hold when
 * backing off; obtain (the issuer checks the DNS provider before any order exists); validate;
 * record the activation as pending, swap atomically, archive (best effort), and make Node-RED
 * use it, rolling back to the last live lineage when it does not.
 */
export async function renewLocked(deps: RenewDeps, run: RunContext, options: RenewOptions): Promise<RenewOutcome> {
  if (!options.dryRun) await resumePending(deps, run);
  const decision = await decide(deps, run, options);
  const installed = run.installed?.info;
  if (!decision.due && installed) return { action: 'skipped', decision, installed };
  const until = run.state.nextAttemptAt ? new Date(run.state.nextAttemptAt) : undefined;
  if (options.scheduled && !options.force && !options.dryRun && until && until > deps.now()) {
    deps.logger.info({ until: until.toISOString() }, 'renewal due, but backing off after failed orders');
    return { action: 'held', decision, until };
  }
  const directoryUrl = options.dryRun ? dryRunDirectory(deps.directoryUrl) : deps.directoryUrl;
  run.issuer = deps.issuer();
  const set = await run.issuer.issue({
    names: deps.names, directoryUrl, replaces: options.dryRun ? undefined : run.ari?.certId, onOrder: () => { run.ordered = true; },
  });
  const certificate = validateCertificateSet(set, { names: deps.names, now: deps.now() });
  if (options.dryRun) {
    deps.logger.info({ directory: directoryUrl, names: certificate.names }, 'dry run: certificate obtained and valid; nothing installed');
    return { action: 'dry-run', certificate, directoryUrl };
  }
  // Recorded before the swap: a run killed after it finishes the activation next time.
  let record = run.state.lineages ?? emptyRecord();
  run.state.lineages = markPending(record, certificate.fingerprint256, deps.now());
  await deps.state.write(run.state);
  const present = await deps.store.lineages();
  const { id } = await deps.store.install(set, { protect: protectedLineages(record, present, run.installed?.id ?? null) });
  installCurrent(run, { id, info: certificate, pem: set.cert });
  record = run.state.lineages;
  run.state.lineages = markPending(record, certificate.fingerprint256, deps.now(), id);
  deps.logger.info({ lineage: id }, 'certificate installed');
  const warnings = await afterSwap(deps, run, id, set);
  await activateOrRollBack(deps, run, { id, info: certificate, pem: set.cert });
  return { action: 'renewed', certificate, lineage: id, decision, warnings };
}

/** Bookkeeping after the swap never undoes it: a failure is a warning in the outcome, and activation goes on. */
async function afterSwap(deps: RenewDeps, run: RunContext, id: string, set: Parameters<Archive['save']>[1]): Promise<string[]> {
  const warnings: string[] = [];
  for (const [what, step] of [
    ['archiving the new certificate', () => deps.archive.save(id, set)],
    ['recording the pending activation', () => deps.state.write(run.state)],
  ] as const) {
    try {
      await step();
    } catch (err) {
      const message = `${what} failed: ${(err as Error).message}`;
      deps.logger.warn({ lineage: id }, `${message}; the new certificate is installed and is being activated`);
      warnings.push(message);
    }
  }
  return warnings;
}

/** A run that died after a swap left an activation pending: finish it (restart, check, maybe roll back). */
async function resumePending(deps: RenewDeps, run: RunContext): Promise<void> {
  const pending = run.state.lineages?.pending;
  if (!pending) return;
  const installed = run.installed;
  if (!installed?.id || installed.info.fingerprint256 !== pending.fingerprint256) {
    // The run stopped before its swap (or someone switched by hand): nothing to finish.
    run.state.lineages = clearPending(run.state.lineages!);
    return;
  }
  deps.logger.warn({ lineage: installed.id, since: pending.since }, 'an earlier run installed this certificate but stopped before Node-RED took it; activating it now');
  await activateOrRollBack(deps, run, { id: installed.id, info: installed.info, pem: installed.pem });
}


/** The policy's decision about what is installed (ARI asked once per run). */
async function decide(deps: RenewDeps, run: RunContext, options: RenewOptions): Promise<RenewalDecision> {
  if (options.dryRun) return { due: true, reason: 'dry run (--dry-run)' };
  const installed = run.installed;
  run.ari = installed ? await deps.ari.lookup(installed) : undefined;
  const decision = decideRenewal({ installed: installed?.info ?? null, names: deps.names, now: deps.now(), force: options.force, ari: run.ari });
  deps.logger.info({ due: decision.due, dueAt: decision.dueAt?.toISOString(), nextCheck: decision.nextCheck?.toISOString() }, `renewal decision: ${decision.reason}`);
  return decision;
}

/** `--dry-run` orders from Let's Encrypt staging when the real target is production (as certbot does). */
export function dryRunDirectory(directoryUrl: string): string {
  return directoryUrl === ACME_DIRECTORIES.production ? ACME_DIRECTORIES.staging : directoryUrl;
}

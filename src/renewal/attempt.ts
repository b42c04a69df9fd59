import { AcmeError, NrcertError, RolledBackError, addNote, exitCodeOf } from '../errors';
import type { CertificateInfo } from '../store/types';
import { dueAt } from './policy';
import { nextAttemptAt } from './backoff';
import { renewLocked, type RenewDeps, type RenewOptions, type RenewOutcome } from './renew';
import type { RunContext } from './run';
import type { RenewalState } from './state';
import { buildNotifyEvent, type NotifyEvent, type NotifyEventFields } from '../service/notify';
import type { ServiceStatus } from '../service/status-file';

const DAY_MS = 86_400_000;

/**
 * One renewal with its bookkeeping, all under the lock: read the state, decide and renew
 * (renewLocked), record the outcome (failed orders counted and backed off, failures before any
 * order only noted, success resetting), notify (renewed, failed, rolled back, expiring within 7
 * days, TXT records left behind) and rewrite status.json and the metrics file. A run refused by
 * the lock changes no file. Errors are rethrown after being recorded.
 */
export async function attemptRenewal(deps: RenewDeps, options: RenewOptions): Promise<RenewOutcome> {
  const release = await deps.lock.acquire(options.dryRun ? 'renew --dry-run' : 'renew');
  try {
    const run: RunContext = { state: await deps.state.read(), installed: await deps.store.installed(), ordered: false };
    try {
      const outcome = await renewLocked(deps, run, options);
      if (!options.dryRun) await recordOutcome(deps, run, outcome);
      return outcome;
    } catch (err) {
      const leftovers = leftoverRecords(run);
      for (const name of leftovers) addNote(err, `the TXT record ${name} could not be removed; the next run removes it`);
      if (!options.dryRun && (!(err instanceof NrcertError) || err.countsAsFailure)) await recordFailure(deps, run, err, leftovers);
      throw err;
    } finally {
      if (!options.dryRun) await report(deps, run);
    }
  } finally {
    await release();
  }
}

/** TXT records the issuer (when this run created one) could not remove. */
function leftoverRecords(run: RunContext): string[] {
  return run.issuer?.leftovers() ?? [];
}

async function recordOutcome(deps: RenewDeps, run: RunContext, outcome: RenewOutcome): Promise<void> {
  const { state } = run;
  const at = deps.now().toISOString();
  const leftovers = leftoverRecords(run);
  const extra = leftovers.length > 0 ? { leftoverRecords: leftovers } : {};
  if (outcome.action === 'renewed') {
    Object.assign(state, { consecutiveFailures: 0, lastSuccessAt: at, nextAttemptAt: undefined });
    outcome.warnings.push(...leftovers.map((n) => `the TXT record ${n} could not be removed; the next run removes it`));
    const warned = outcome.warnings;
    state.lastRun = { at, outcome: 'renewed', message: `renewed; valid until ${outcome.certificate.notAfter.toISOString()}${warned.length ? `; ${warned.join('; ')}` : ''}`, exitCode: 0, ...extra };
    await deps.reporter.notify(event('renewed', deps, outcome.certificate, {
      message: `New certificate for ${outcome.certificate.names.join(', ')} installed, valid until ${outcome.certificate.notAfter.toISOString()}.` +
        (warned.length ? ` Warnings: ${warned.join('; ')}.` : ''),
      lineage: outcome.lineage,
    }));
  } else if (outcome.action === 'skipped') {
    Object.assign(state, { consecutiveFailures: 0, lastSuccessAt: at, nextAttemptAt: undefined });
    state.lastRun = { at, outcome: 'skipped', message: outcome.decision.reason, exitCode: 0 };
  } else if (outcome.action === 'held') {
    state.lastRun = { at, outcome: 'held', message: `due, but backing off after failed orders until ${outcome.until.toISOString()}`, exitCode: 0 };
  }
}

/**
 * A failed run. One that placed an ACME order counts towards the back-off (so a name that keeps
 * failing is ordered at most 5 times in 7 days); one that failed before any order (token, zone,
 * permissions, settings) used no CA budget: it is recorded and notified, and the next check
 * (a service start, `renew --scheduled`) tries again at once.
 */
async function recordFailure(deps: RenewDeps, run: RunContext, err: unknown, leftovers: string[]): Promise<void> {
  const { state } = run;
  const now = deps.now();
  const message = err instanceof Error ? err.message : String(err);
  const transient = err instanceof NrcertError && err.transient;
  const rolledBack = err instanceof RolledBackError;
  state.failuresTotal += 1;
  if (run.ordered) {
    state.consecutiveFailures += 1;
    const retryAfter = err instanceof AcmeError ? err.retryAfter : undefined;
    state.nextAttemptAt = nextAttemptAt(state.consecutiveFailures, !transient, now, retryAfter).toISOString();
  }
  state.lastFailure = { at: now.toISOString(), message, transient, exitCode: exitCodeOf(err), orderPlaced: run.ordered };
  state.lastRun = {
    at: now.toISOString(), outcome: rolledBack ? 'rolled_back' : 'failed', message, exitCode: exitCodeOf(err),
    ...(leftovers.length > 0 ? { leftoverRecords: leftovers } : {}),
  };
  const next = run.ordered
    ? `next try after ${state.nextAttemptAt}`
    : 'no ACME order was placed, so it is tried again at the next check';
  deps.logger.error({ failures: state.consecutiveFailures, nextAttemptAt: state.nextAttemptAt, transient, orderPlaced: run.ordered }, `renewal failed: ${message}; ${next}`);
  const installed = run.installed?.info;
  const left = leftovers.length > 0 ? ` TXT records left behind (removed by the next run): ${leftovers.join(', ')}.` : '';
  await deps.reporter.notify(event(rolledBack ? 'rollback' : 'renewal_failed', deps, installed, {
    message: rolledBack
      ? `Node-RED did not take the new certificate for ${deps.names.join(', ')}; the previous one was put back.${left}`
      : `Renewing the certificate for ${deps.names.join(', ')} failed${run.ordered ? ` (attempt ${state.consecutiveFailures})` : ''}; ${next}.${left}`,
    error: message,
    exitCode: exitCodeOf(err),
    nextAttemptAt: state.nextAttemptAt,
  }));
}

/** Saves the state, warns when the installed certificate expires within 7 days, rewrites status. */
async function report(deps: RenewDeps, run: RunContext): Promise<void> {
  const { state } = run;
  const now = deps.now();
  const installed = run.installed?.info ?? null;
  const ari = run.ari;
  const lastNotice = state.lastExpiringNoticeAt ? Date.parse(state.lastExpiringNoticeAt) : 0;
  if (installed && installed.notAfter.getTime() - now.getTime() < 7 * DAY_MS && now.getTime() - lastNotice >= DAY_MS) {
    const days = Math.max(0, Math.floor((installed.notAfter.getTime() - now.getTime()) / DAY_MS));
    state.lastExpiringNoticeAt = now.toISOString();
    await deps.reporter.notify(event('expiring', deps, installed, {
      message: `The certificate for ${installed.names.join(', ')} expires ${installed.notAfter.toISOString()} (in ${days} days) and has not been renewed.`,
    }));
  }
  await deps.state.write(state);
  try {
    await deps.reporter.writeStatus(serviceStatus(now, installed, state, ari));
  } catch (err) {
    deps.logger.warn({ error: (err as Error).message }, 'could not write the status files');
  }
}

function event(type: NotifyEvent['type'], deps: RenewDeps, cert: CertificateInfo | null | undefined, fields: Omit<NotifyEventFields, 'names'>): NotifyEvent {
  return buildNotifyEvent(type, { names: cert?.names ?? deps.names, notAfter: cert?.notAfter.toISOString(), ...fields }, deps.now());
}

/** What status.json and the metrics file say after a run: the installed certificate and the state's bookkeeping. */
export function serviceStatus(now: Date, installed: CertificateInfo | null, state: RenewalState, ari?: Parameters<typeof dueAt>[1]): ServiceStatus {
  return {
    updatedAt: now.toISOString(),
    certificate: installed && {
      names: installed.names,
      notBefore: installed.notBefore.toISOString(),
      notAfter: installed.notAfter.toISOString(),
      serial: installed.serial,
      fingerprint256: installed.fingerprint256,
      dueAt: dueAt(installed, ari).toISOString(),
    },
    lastRun: state.lastRun ?? null,
    lastSuccessAt: state.lastSuccessAt ?? null,
    failuresTotal: state.failuresTotal,
    consecutiveFailures: state.consecutiveFailures,
    nextAttemptAt: state.nextAttemptAt ?? null,
    leftoverRecords: state.lastRun?.leftoverRecords ?? [],
  };
}

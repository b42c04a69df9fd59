import { AcmeError, NrcertError, RolledBackError, exitCodeOf } from '../errors';
import { readInstalledCertificate } from '../store/pem';
import type { CertificateInfo } from '../store/types';
import { dueAt, type AriAdvice } from './policy';
import { savedAriAdvice } from './ari-state';
import { nextAttemptAt, readRenewalState, writeRenewalState, type RenewalState } from './backoff';
import { renew, type RenewDeps, type RenewOptions, type RenewOutcome } from './renew';
import { buildNotifyEvent, type NotifyEvent, type NotifyEventFields } from '../service/notify';
import type { ServiceStatus } from '../service/status-file';

const DAY_MS = 86_400_000;

/** Where an attempt reports to: notifications and the status files (injected, so tests can look). */
export interface Reporter {
  notify(event: NotifyEvent): Promise<void>;
  writeStatus(status: ServiceStatus): Promise<void>;
}

/** How the renewal was asked for: `scheduled` (service, timer) honours the back-off. */
export interface AttemptOptions extends RenewOptions {
  scheduled?: boolean;
}

/**
 * One renewal with its bookkeeping: a scheduled run is held while backing off after failures;
 * every run records its outcome (failures counted, back-off grown, success resetting it), sends
 * the notifications (renewed, failed, rolled back, expiring within 7 days) and rewrites
 * status.json and the metrics file. Errors are rethrown after being recorded.
 */
export async function attemptRenewal(deps: RenewDeps & { reporter: Reporter }, options: AttemptOptions): Promise<RenewOutcome> {
  const { config } = deps;
  const state = await readRenewalState(config.stateDir);
  const notBefore = options.scheduled && state.nextAttemptAt ? new Date(state.nextAttemptAt) : undefined;
  try {
    const outcome = await renew(deps, { ...options, notBefore });
    await recordOutcome(deps, state, outcome);
    return outcome;
  } catch (err) {
    if (!(err instanceof NrcertError) || err.countsAsFailure) await recordFailure(deps, state, err);
    throw err;
  } finally {
    if (!options.dryRun) await report(deps, state);
  }
}

async function recordOutcome(deps: RenewDeps & { reporter: Reporter }, state: RenewalState, outcome: RenewOutcome): Promise<void> {
  const at = deps.now().toISOString();
  if (outcome.action === 'renewed') {
    Object.assign(state, { consecutiveFailures: 0, lastSuccessAt: at, nextAttemptAt: undefined });
    state.lastRun = { at, outcome: 'renewed', message: `renewed; valid until ${outcome.certificate.notAfter.toISOString()}`, exitCode: 0 };
    await deps.reporter.notify(event('renewed', deps, outcome.certificate, {
      message: `New certificate for ${outcome.certificate.names.join(', ')} installed, valid until ${outcome.certificate.notAfter.toISOString()}.`,
      lineage: outcome.lineage,
    }));
  } else if (outcome.action === 'skipped') {
    Object.assign(state, { consecutiveFailures: 0, lastSuccessAt: at, nextAttemptAt: undefined });
    state.lastRun = { at, outcome: 'skipped', message: outcome.decision.reason, exitCode: 0 };
  } else if (outcome.action === 'held') {
    state.lastRun = { at, outcome: 'skipped', message: `due, but backing off until ${outcome.until.toISOString()}`, exitCode: 0 };
  }
}

async function recordFailure(deps: RenewDeps & { reporter: Reporter }, state: RenewalState, err: unknown): Promise<void> {
  const now = deps.now();
  const message = err instanceof Error ? err.message : String(err);
  const transient = err instanceof NrcertError && err.transient;
  const rolledBack = err instanceof RolledBackError;
  state.consecutiveFailures += 1;
  state.failuresTotal += 1;
  const retryAfter = err instanceof AcmeError ? err.retryAfter : undefined;
  const next = nextAttemptAt(state.consecutiveFailures, !transient, now, retryAfter);
  state.nextAttemptAt = next.toISOString();
  state.lastFailure = { at: now.toISOString(), message, transient, exitCode: exitCodeOf(err) };
  state.lastRun = { at: now.toISOString(), outcome: rolledBack ? 'rolled_back' : 'failed', message, exitCode: exitCodeOf(err) };
  deps.logger.error({ failures: state.consecutiveFailures, nextAttemptAt: state.nextAttemptAt, transient }, 'renewal failed; backing off');
  const installed = (await readInstalledCertificate(deps.config.certDir).catch(() => null))?.info;
  await deps.reporter.notify(event(rolledBack ? 'rollback' : 'renewal_failed', deps, installed, {
    message: rolledBack
      ? `Node-RED did not take the new certificate for ${deps.config.domains.join(', ')}; the previous one was put back.`
      : `Renewing the certificate for ${deps.config.domains.join(', ')} failed (attempt ${state.consecutiveFailures}); next try after ${state.nextAttemptAt}.`,
    error: message,
    exitCode: exitCodeOf(err),
    nextAttemptAt: state.nextAttemptAt,
  }));
}

/** Saves the state, warns when the installed certificate expires within 7 days, rewrites status. */
async function report(deps: RenewDeps & { reporter: Reporter }, state: RenewalState): Promise<void> {
  const now = deps.now();
  const current = await readInstalledCertificate(deps.config.certDir).catch(() => null);
  const installed = current?.info ?? null;
  const ari = current ? await savedAriAdvice(deps.config, current.pem) : undefined;
  const lastNotice = state.lastExpiringNoticeAt ? Date.parse(state.lastExpiringNoticeAt) : 0;
  if (installed && installed.notAfter.getTime() - now.getTime() < 7 * DAY_MS && now.getTime() - lastNotice >= DAY_MS) {
    const days = Math.max(0, Math.floor((installed.notAfter.getTime() - now.getTime()) / DAY_MS));
    state.lastExpiringNoticeAt = now.toISOString();
    await deps.reporter.notify(event('expiring', deps, installed, {
      message: `The certificate for ${installed.names.join(', ')} expires ${installed.notAfter.toISOString()} (in ${days} days) and has not been renewed.`,
    }));
  }
  await writeRenewalState(deps.config.stateDir, state);
  try {
    await deps.reporter.writeStatus(serviceStatus(now, installed, state, ari));
  } catch (err) {
    deps.logger.warn({ error: (err as Error).message }, 'could not write the status files');
  }
}

function event(type: NotifyEvent['type'], deps: RenewDeps, cert: CertificateInfo | null | undefined, fields: Omit<NotifyEventFields, 'names'>): NotifyEvent {
  return buildNotifyEvent(type, { names: cert?.names ?? deps.config.domains, notAfter: cert?.notAfter.toISOString(), ...fields }, deps.now());
}

function serviceStatus(now: Date, installed: CertificateInfo | null, state: RenewalState, ari?: AriAdvice): ServiceStatus {
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
  };
}

/**
 * Activation and rollback over the ports: a lineage becomes live when Node-RED takes it; when it
 * does not, it is marked failed and CERT_DIR goes back to the last live lineage (validated
 * first: a key that no longer matches its certificate is never put back), which is activated in
 * turn. The error says once what was tried, what is installed now and what to do.
 */
import { HookError, NoRollbackTargetError, RolledBackError } from '../errors';
import { validateRestorable } from '../store/validate';
import type { CertificateInfo } from '../store/types';
import { clearPending, emptyRecord, markFailed, markLive, rollbackCandidates, type LineageRecord } from './lineages';
import type { RenewDeps } from './renew';
import { installCurrent, type RunContext } from './run';
import { nrcertCommand } from '../util/hint';

type Deps = Pick<RenewDeps, 'store' | 'activator' | 'logger' | 'now'>;

/** A lineage to activate: its id, its certificate's facts and PEM. */
export interface Target {
  id: string;
  info: CertificateInfo;
  pem: string;
}

/**
 * Activates `lineage` (installed now). On a HookError it rolls back to the last live lineage and
 * throws RolledBackError; with nothing to roll back to the lineage stays installed and pending
 * (the next run tries its activation again) and a HookError says so.
 */
export async function activateOrRollBack(deps: Deps, run: RunContext, lineage: Target): Promise<void> {
  const record = run.state.lineages ?? emptyRecord();
  try {
    await deps.activator.activate(lineage);
    run.state.lineages = markLive(record, lineage.id);
    deps.logger.info({ lineage: lineage.id }, 'Node-RED took the certificate');
    return;
  } catch (err) {
    if (!(err instanceof HookError)) throw err; // interrupted: left pending, finished by the next run
    const target = await rollbackTarget(deps, record, lineage.id);
    if (!target) {
      throw new HookError(
        `Tried: activating the new certificate ${lineage.id}: ${err.message}. Installed now: that new certificate ` +
          '(there is no earlier certificate Node-RED served to go back to). ' +
          `To do: fix the cause above; the next renewal run (or ${nrcertCommand('renew')}) activates it again.`,
        { cause: err },
      );
    }
    deps.logger.error({ error: err.message, lineage: lineage.id, rollbackTo: target.id }, 'Node-RED did not take the new certificate; rolling back');
    run.state.lineages = markFailed(record, lineage.id);
    const outcome = await switchAndActivate(deps, run, target);
    throw new RolledBackError(
      `Tried: activating the new certificate ${lineage.id}: ${err.message}. ` +
        `Installed now: the previous certificate ${target.id} (valid until ${target.info.notAfter.toISOString()}), ${outcome.text}. ` +
        `To do: ${outcome.ok ? `fix the cause above, then run ${nrcertCommand('renew')} --force` : `check that Node-RED runs (e.g. journalctl -u nodered), then run ${nrcertCommand('rollback')} or ${nrcertCommand('renew')} --force`}; ` +
        `the failed certificate is kept as ${lineage.id} and never rolled back to.`,
      { cause: err },
    );
  }
}

/**
 * Puts `target` (a lineage Node-RED served before, or one chosen on purpose) in place and
 * activates it. A failed activation is reported, not retried: the lineage stays installed and
 * keeps its standing (Node-RED being down is not this certificate's fault).
 */
export async function switchAndActivate(deps: Deps, run: RunContext, target: Target): Promise<{ ok: boolean; text: string }> {
  await deps.store.switchTo(target.id);
  installCurrent(run, target);
  const record = run.state.lineages ?? emptyRecord();
  try {
    await deps.activator.activate(target);
    run.state.lineages = markLive(record, target.id);
    return { ok: true, text: 'and Node-RED serves it again' };
  } catch (again) {
    if (!(again instanceof HookError)) throw again;
    run.state.lineages = clearPending(record);
    return { ok: false, text: `but activating it failed too (${again.message})` };
  }
}

/** The best rollback candidate from `fromId` that validates, or null. Invalid ones are logged and skipped. */
export async function rollbackTarget(deps: Pick<Deps, 'store' | 'logger'>, record: LineageRecord, fromId: string | null): Promise<Target | null> {
  for (const id of rollbackCandidates(record, await deps.store.lineages(), fromId)) {
    const target = await validTarget(deps, id).catch((err: Error) => {
      deps.logger.warn({ lineage: id }, `not rolling back to ${id}: ${err.message}`);
      return null;
    });
    if (target) return target;
  }
  return null;
}

/** Lineage `id` read and checked (its key matches its certificate), or an InstallError. */
export async function validTarget(deps: Pick<Deps, 'store'>, id: string): Promise<Target> {
  const set = await deps.store.read(id);
  return { id, info: validateRestorable(set, `certificate ${id}`), pem: set.cert };
}

/** The error for a rollback with nowhere to go. */
export function nothingToRollBackTo(currentId: string | null): NoRollbackTargetError {
  return new NoRollbackTargetError(
    `there is no earlier certificate that Node-RED served and that is still valid to go back to${currentId ? ` (installed: ${currentId})` : ''}; ` +
      `nothing was changed. ${nrcertCommand('status')} --json lists the lineages; ${nrcertCommand('rollback')} --to ID picks one on purpose`,
  );
}

/**
 * What nrcert remembers between runs about renewals (STATE_DIR/renewal-state.json): failures and
 * back-off, the last run, notices, and which lineage Node-RED last took. Read and written only
 * under the renewal lock, so a run refused by the lock never writes a stale copy.
 */
import { readState, writeState } from '../store/state';
import { statePath } from '../store/state-dir';
import type { LineageRecord } from './lineages';
import type { StateStore } from './ports';

/** How a run ended, as status.json and the metrics show it. */
export type RunOutcome = 'renewed' | 'skipped' | 'held' | 'failed' | 'rolled_back';

/** The renewal bookkeeping. */
export interface RenewalState {
  /** Failed runs in a row that had placed an ACME order (the back-off counts these). */
  consecutiveFailures: number;
  failuresTotal: number;
  lastSuccessAt?: string;
  lastFailure?: {
    at: string;
    message: string;
    transient: boolean;
    exitCode: number;
    /** False when the run failed before any ACME order: it used no CA budget and sets no back-off. */
    orderPlaced: boolean;
  };
  /** No scheduled attempt before this time (back-off after failed orders). */
  nextAttemptAt?: string;
  /** The last run, whatever its outcome (for status.json). */
  lastRun?: { at: string; outcome: RunOutcome; message: string; exitCode: number; leftoverRecords?: string[] };
  /** When the last "expiring soon" notification went out (at most one a day). */
  lastExpiringNoticeAt?: string;
  /** Which lineage is live, which were live before, which failed, which awaits activation. */
  lineages?: LineageRecord;
}

/** A state with nothing recorded yet. */
export function emptyState(): RenewalState {
  return { consecutiveFailures: 0, failuresTotal: 0 };
}

/** The state file in STATE_DIR, written atomically (0600). */
export function fileStateStore(stateDir: string): StateStore {
  const path = statePath(stateDir, 'renewalState');
  return {
    read: async () => ({ ...emptyState(), ...(await readState<Partial<RenewalState>>(path, {})) }),
    write: (state) => writeState(path, state),
  };
}

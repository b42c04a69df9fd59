import { readState, writeState } from '../store/state';
import { statePath } from '../store/state-dir';

/**
 * Waits after 1, 2, 3, 4+ consecutive failures. Chosen so that a name that fails forever is
 * ordered at most 5 times in any 7 days (attempts at 0 h, 1 h, 7 h, 31 h, 103 h, 175 h, …),
 * well inside Let's Encrypt's limit of 5 failed validations per name per account per hour and
 * its advice not to retry failing renewals in a tight loop.
 */
export const FAILURE_DELAYS_MS = [1, 6, 24, 72].map((h) => h * 3_600_000);

/** Permanent failures (refused token, unknown zone, unauthorized name) start at the long end. */
export const PERMANENT_DELAYS_MS = [24, 72].map((h) => h * 3_600_000);

/** What nrcert remembers between runs about renewals: failures, back-off, ARI, notices. */
export interface RenewalState {
  consecutiveFailures: number;
  failuresTotal: number;
  lastSuccessAt?: string;
  lastFailure?: { at: string; message: string; transient: boolean; exitCode: number };
  /** No scheduled attempt before this time (back-off). */
  nextAttemptAt?: string;
  /** The last run, whatever its outcome (for status.json). */
  lastRun?: { at: string; outcome: 'renewed' | 'skipped' | 'failed' | 'rolled_back'; message: string; exitCode: number };
  /** When the last "expiring soon" notification went out (at most one a day). */
  lastExpiringNoticeAt?: string;
}

const EMPTY: RenewalState = { consecutiveFailures: 0, failuresTotal: 0 };

/** The state file's path in STATE_DIR. */
export function renewalStatePath(stateDir: string): string {
  return statePath(stateDir, 'renewalState');
}

/** Reads the state, or a fresh one when there is none yet. */
export async function readRenewalState(stateDir: string): Promise<RenewalState> {
  return { ...EMPTY, ...(await readState<Partial<RenewalState>>(renewalStatePath(stateDir), {})) };
}

/** Writes the state atomically (0600). */
export async function writeRenewalState(stateDir: string, state: RenewalState): Promise<void> {
  await writeState(renewalStatePath(stateDir), state);
}

/**
 * When the next scheduled attempt may run after `failures` consecutive failures: the back-off
 * schedule, or later when the server asked for it (Retry-After of a rate limit).
 */
export function nextAttemptAt(failures: number, permanent: boolean, now: Date, retryAfter?: Date): Date {
  const delays = permanent ? PERMANENT_DELAYS_MS : FAILURE_DELAYS_MS;
  const delay = delays[Math.min(Math.max(failures, 1), delays.length) - 1];
  const at = new Date(now.getTime() + delay);
  return retryAfter && retryAfter > at ? retryAfter : at;
}

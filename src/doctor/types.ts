/**
 * What `nrcert doctor` reports: one line per check, each ok, failed, a warning or skipped, with a
 * one-line fix for what is wrong. Messages never carry secrets: they name files, settings and
 * hosts, never token, key or password material.
 */

/** ok: fine; fail: broken (doctor exits non-zero); warn: worth a look; skip: could not or need not run. */
export type CheckStatus = 'ok' | 'fail' | 'warn' | 'skip';

/** One line of the checklist, exactly as `doctor --json` prints it. */
export interface CheckResult {
  /** Stable id for scripts, e.g. `permissions` or `security.adminAuth`. */
  id: string;
  status: CheckStatus;
  message: string;
  /** What to do about it: one line, for fail and warn (and a hint for some skips). */
  fix?: string;
}

/** A check result with the given status. */
function result(status: CheckStatus, id: string, message: string, fix?: string): CheckResult {
  return fix === undefined ? { id, status, message } : { id, status, message, fix };
}

/** A passing check. */
export const ok = (id: string, message: string): CheckResult => result('ok', id, message);
/** A failing check and its fix. */
export const fail = (id: string, message: string, fix?: string): CheckResult => result('fail', id, message, fix);
/** A warning and what to do about it. */
export const warn = (id: string, message: string, fix?: string): CheckResult => result('warn', id, message, fix);
/** A check that did not run, and why. */
export const skip = (id: string, message: string, fix?: string): CheckResult => result('skip', id, message, fix);

/** The error code of a Node.js system error, or a short description of anything else. */
export function codeOf(err: unknown): string {
  const e = err as Partial<NodeJS.ErrnoException> | undefined;
  return e?.code ?? (typeof e?.message === 'string' ? e.message.split('\n')[0] : String(err));
}

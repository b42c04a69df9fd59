/**
 * The editor's requests as jobs (EDITOR_DIR/jobs.json, the last 20, newest last) and the one
 * decision about them: may a renewal the editor asks for run now? Pure, like renewal/policy.ts:
 * every answer carries its reason, written for the person who pressed "Renew now".
 */
import { isoTime } from '../util/iso-time';

/** What became of a request. */
export type JobState = 'running' | 'succeeded' | 'failed' | 'refused';

/** One request, as jobs.json lists it (no secret: never the password). */
export interface Job {
  id: string;
  action: string;
  state: JobState;
  message: string;
  requestedAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** client-add: the file name in requests/ to download once. */
  download?: string;
}

/** jobs.json keeps this many. */
export const MAX_JOBS = 20;

/** `jobs` with `job` put in (replacing the job of the same id), at most MAX_JOBS, newest last. */
export function withJob(jobs: Job[], job: Job): Job[] {
  const index = jobs.findIndex((j) => j.id === job.id);
  const next = index >= 0 ? jobs.map((j, i) => (i === index ? job : j)) : [...jobs, job];
  return next.slice(-MAX_JOBS);
}

/** What the renewal decision needs to know. */
export interface RenewRequestContext {
  now: Date;
  /** A renewal (the editor's, the schedule's or the timer's) is running in this service. */
  running: boolean;
  /** When the last renewal the editor asked for started. */
  lastEditorRenewalAt?: Date;
  /** EDITOR_RENEW_INTERVAL. */
  intervalMs: number;
}

/** Whether the editor's renewal may start now, and, when not, a polite message saying why and when it can. */
export type RenewRequestDecision = { allowed: true; reason: string } | { allowed: false; reason: string; retryAt?: Date };

/** Decides a `renew` request: one at a time, and at most one per EDITOR_RENEW_INTERVAL. */
export function decideRenewRequest(ctx: RenewRequestContext): RenewRequestDecision {
  if (ctx.running) {
    return { allowed: false, reason: 'A renewal is already running. Its result will show here when it finishes; ask again after that if you still need one.' };
  }
  const last = ctx.lastEditorRenewalAt?.getTime();
  if (last !== undefined && Number.isFinite(last)) {
    const retryAt = new Date(last + ctx.intervalMs);
    if (retryAt.getTime() > ctx.now.getTime()) {
      const wait = Math.ceil((retryAt.getTime() - ctx.now.getTime()) / 60_000);
      return {
        allowed: false,
        retryAt,
        reason: `The certificate was renewed from the editor at ${isoTime(new Date(last))}; the next renewal from the editor is possible from ` +
          `${isoTime(retryAt)} (in ${wait} minute${wait === 1 ? '' : 's'}; EDITOR_RENEW_INTERVAL is ${Math.round(ctx.intervalMs / 1000)} s).`,
      };
    }
  }
  return { allowed: true, reason: 'no renewal is running and the last one from the editor is long enough ago' };
}

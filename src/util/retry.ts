import type { Logger } from '../log';
import { AcmeError, NrcertError } from '../errors';
import { sleep } from './sleep';

/** How hard to try: attempts in all, the first back-off, and the longest wait we accept. */
export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  /** A Retry-After further away than this is not waited for: the error goes to the caller. */
  maxWaitMs: number;
}

/** The policy for one ACME or DNS call within a renewal: a few quick tries, never hours. */
export const CALL_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 1000, maxWaitMs: 60_000 };

/**
 * Runs `fn`, retrying transient failures (network, 5xx, 429) with exponential back-off and
 * jitter, waiting as long as a Retry-After asks when that is within `maxWaitMs`. Permanent
 * failures, rate limits that ask for longer, servers that did not answer within their timeout
 * (a retry would only multiply the wait) and nonce storms are rethrown at once: the scheduler's
 * back-off tries again later.
 */
export async function withRetry<T>(what: string, fn: () => Promise<T>, deps: { logger: Logger; signal?: AbortSignal; policy?: RetryPolicy }): Promise<T> {
  const policy = deps.policy ?? CALL_RETRY;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const wait = retryDelay(err, attempt, policy);
      if (wait === null) throw err;
      deps.logger.warn({ attempt, waitMs: wait, error: (err as Error).message }, `${what} failed; retrying`);
      await sleep(wait, deps.signal);
    }
  }
}

function retryDelay(err: unknown, attempt: number, policy: RetryPolicy): number | null {
  if (!(err instanceof NrcertError) || !err.transient || attempt >= policy.attempts) return null;
  // A timeout would multiply the wait; a badNonce was already retried five times by acme-client.
  if (err instanceof AcmeError && (err.timedOut || err.problemType === 'badNonce')) return null;
  const backoff = policy.baseDelayMs * 2 ** (attempt - 1) * (0.75 + Math.random() / 2);
  const retryAfter = err instanceof AcmeError && err.retryAfter ? err.retryAfter.getTime() - Date.now() : 0;
  const wait = Math.max(backoff, retryAfter);
  return wait > policy.maxWaitMs ? null : Math.round(wait);
}

/** Parses an HTTP Retry-After header (seconds or HTTP date) into a date, or undefined. */
export function parseRetryAfter(header: unknown, now = Date.now()): Date | undefined {
  if (typeof header !== 'string' || header.trim() === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(header.trim())) return new Date(now + Number(header.trim()) * 1000);
  const date = new Date(header);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/**
 * Waits after 1, 2, 3, 4+ consecutive failed orders. Chosen so that a name that fails forever is
 * ordered at most 5 times in any 7 days (orders at 0 h, 1 h, 7 h, 31 h, 103 h, 175 h, …),
 * well inside Let's Encrypt's limit of 5 failed validations per name per account per hour and
 * its advice not to retry failing renewals in a tight loop. Only runs that placed an order count:
 * a bad token or a missing permission costs no CA budget, so fixing it is tried at the next check.
 */
export const FAILURE_DELAYS_MS = [1, 6, 24, 72].map((h) => h * 3_600_000);

/** Permanent failures after an order (the CA refusing a name) start at the long end. */
export const PERMANENT_DELAYS_MS = [24, 72].map((h) => h * 3_600_000);

/**
 * When the next scheduled attempt may run after `failures` consecutive failed orders: the
 * back-off schedule, or later when the server asked for it (Retry-After of a rate limit).
 */
export function nextAttemptAt(failures: number, permanent: boolean, now: Date, retryAfter?: Date): Date {
  const delays = permanent ? PERMANENT_DELAYS_MS : FAILURE_DELAYS_MS;
  const delay = delays[Math.min(Math.max(failures, 1), delays.length) - 1];
  const at = new Date(now.getTime() + delay);
  return retryAfter && retryAfter > at ? retryAfter : at;
}

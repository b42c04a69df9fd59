/** Polling for tests: wait until something a test can observe has happened. */

/** Options of waitFor. */
export interface WaitOptions {
  /** Pause between checks; 50 ms unless told. */
  intervalMs?: number;
  /** What is awaited, named in the timeout error. */
  what?: string;
}

/**
 * Calls `check` until it returns true; rejects once `timeoutMs` has passed without. A check that
 * throws counts as false (a file not written yet, half-written JSON); the timeout error names
 * `what` and the last error the check threw.
 */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  opts: WaitOptions = {},
): Promise<void> {
  const intervalMs = opts.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const what = opts.what ?? 'condition';
      const last = lastError === undefined ? '' : `; the check last threw: ${lastError instanceof Error ? lastError.message : String(lastError)}`;
      throw new Error(`waitFor: ${what} not met within ${timeoutMs} ms${last}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

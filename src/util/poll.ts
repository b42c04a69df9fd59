import { sleep } from './sleep';

/**
 * Looks at once, then at short growing intervals (250 ms up to 2 s) until `look` returns
 * undefined (done) or `timeoutMs` passes (with one last look at the deadline), so a fast answer
 * costs one round trip, not a fixed sleep. `look` returns what is still missing; when time runs
 * out that is returned as `pending`.
 */
export async function pollUntil<S>(
  look: () => Promise<S | undefined>,
  opts: { timeoutMs: number; signal?: AbortSignal; onWait?: (pending: S, elapsedMs: number, attempt: number) => void },
): Promise<{ pending?: S; elapsedMs: number; attempts: number }> {
  const started = Date.now();
  let interval = 250;
  for (let attempt = 1; ; attempt++) {
    const pending = await look();
    const elapsedMs = Date.now() - started;
    if (pending === undefined || elapsedMs >= opts.timeoutMs) return { pending, elapsedMs, attempts: attempt };
    opts.onWait?.(pending, elapsedMs, attempt);
    await sleep(Math.min(interval, opts.timeoutMs - elapsedMs), opts.signal);
    interval = Math.min(2000, Math.round(interval * 1.5));
  }
}

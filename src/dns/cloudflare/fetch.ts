/**
 * The `fetch` the Cloudflare SDK is given (its own retries are off): every request is bounded by
 * CLOUDFLARE_TIMEOUT, a 429/5xx is retried twice, waiting as long as its Retry-After asks when
 * that is at most `maxWaitMs` (logged, and cut short by the run's AbortSignal), and a longer
 * wait fails at once as a transient DnsProviderError that names it. Left to itself the SDK
 * waits whatever Retry-After says, in silence, and SIGTERM cannot stop it.
 *
 * The SDK wraps whatever `fetch` throws in its own APIConnectionError (and takes any message
 * mentioning a timeout for its own timeout, dropping the cause), so our errors travel inside a
 * FetchFailure with a neutral message; cloudflareError() unwraps them.
 * Retry-After: https://developers.cloudflare.com/fundamentals/api/reference/limits/
 */
import type { Logger } from '../../log';
import { AbortedError, DnsProviderError, type NrcertError } from '../../errors';
import { parseRetryAfter } from '../../util/retry';
import { sleep } from '../../util/sleep';

/** Carries the error nrcert means through the SDK, which wraps anything `fetch` throws. */
export class FetchFailure extends Error {
  constructor(readonly reason: NrcertError) {
    super('nrcert: request stopped');
    this.name = 'FetchFailure';
  }
}

/** How the requests to Cloudflare are bounded. */
export interface BoundedFetchOptions {
  /** Shown in messages: the API base URL. */
  baseURL: string;
  /** CLOUDFLARE_TIMEOUT, per attempt (headers and body). */
  timeoutMs: number;
  /** The longest Retry-After waited for; longer fails at once. */
  maxWaitMs: number;
  /** Attempts in all for a 429/5xx; 3 unless told. */
  attempts?: number;
  /** First back-off when no Retry-After is given; doubles each time. */
  baseDelayMs?: number;
  logger: Logger;
  /**
   * The run's signal: ends Retry-After waits and in-flight reads at once. Writes run to their
   * answer (bounded by the timeout), so a record that was created is known by id and removed
   * in the same run, and cleanup deletes still run after an interruption.
   */
  signal?: AbortSignal;
}

const RETRYABLE = new Set([408, 409, 429]);
/** Statuses a Response may not carry a body with. */
const NULL_BODY = new Set([101, 204, 205, 304]);

/** A fetch for the SDK's `fetch` option, bounded as described above. */
export function boundedFetch(opts: BoundedFetchOptions): typeof fetch {
  const attempts = opts.attempts ?? 3;
  return async (input, init) => {
    const method = (init?.method ?? 'GET').toUpperCase();
    const cleanup = method === 'DELETE';
    for (let attempt = 1; ; attempt++) {
      const response = await attemptOnce(input, init, opts, method === 'GET' ? opts.signal : undefined);
      if (!(RETRYABLE.has(response.status) || response.status >= 500) || attempt >= attempts) return response;
      const asked = parseRetryAfter(response.headers.get('retry-after'));
      const waitMs = asked ? Math.max(0, asked.getTime() - Date.now()) : (opts.baseDelayMs ?? 1000) * 2 ** (attempt - 1);
      const seconds = Math.ceil(waitMs / 1000);
      if (waitMs > opts.maxWaitMs || (cleanup && opts.signal?.aborted)) {
        throw new FetchFailure(new DnsProviderError(
          `Cloudflare asked to wait ${seconds} s (HTTP ${response.status}) before the next request, longer than the ` +
            `${Math.round(opts.maxWaitMs / 1000)} s nrcert waits within a run; it will try again later`,
          { transient: true },
        ));
      }
      opts.logger.warn({ status: response.status, waitSeconds: seconds, attempt }, `Cloudflare asked to wait ${seconds} s (${response.status}); waiting`);
      try {
        await sleep(waitMs, cleanup ? undefined : opts.signal);
      } catch (err) {
        throw new FetchFailure(err as AbortedError);
      }
    }
  };
}

async function attemptOnce(input: Parameters<typeof fetch>[0], init: RequestInit | undefined, opts: BoundedFetchOptions, runSignal?: AbortSignal): Promise<Response> {
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const signals = [timeout, ...(init?.signal ? [init.signal] : []), ...(runSignal ? [runSignal] : [])];
  try {
    const response = await fetch(input, { ...init, signal: AbortSignal.any(signals) });
    // Read the (small JSON) body here, under the same timeout, so a server that stops in the
    // middle of an answer fails with the same message as one that never starts.
    const body = NULL_BODY.has(response.status) ? null : await response.arrayBuffer();
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  } catch (err) {
    if (runSignal?.aborted) throw new FetchFailure(new AbortedError());
    if (timeout.aborted) {
      throw new FetchFailure(new DnsProviderError(
        `the Cloudflare API at ${opts.baseURL} did not answer within ${opts.timeoutMs / 1000} s (CLOUDFLARE_TIMEOUT raises it)`,
        { transient: true, cause: err },
      ));
    }
    throw err;
  }
}

/**
 * The one call DuckDNS has for TXT records (https://www.duckdns.org/spec.jsp):
 * `GET <base>/update?domains=<sub>&token=<token>&txt=<value>[&clear=true]`, answered with a plain
 * `OK` or `KO`. A new `txt` replaces the domain's only value; `clear=true` removes it. Each
 * request is bounded by DUCKDNS_TIMEOUT; 5xx, no answer and a timeout are tried three times in
 * all (1 s, 2 s apart; the run's signal ends the wait). The token is in the URL, so the URL is
 * never logged or put in an error (see errors.ts).
 */
import type { Logger } from '../../log';
import type { Secret } from '../../config/secret';
import { AbortedError, type DnsProviderError } from '../../errors';
import { withRetry } from '../../util/retry';
import { refusedError, statusError, timeoutError, unexpectedAnswerError, unreachableError } from './errors';

/** How the client reaches DuckDNS. */
export interface DuckDnsClientOptions {
  token: Secret;
  /** The API origin, e.g. https://www.duckdns.org (no trailing slash). */
  baseURL: string;
  timeoutMs: number;
  logger: Logger;
  /** First back-off after a transient failure (1 s unless told); doubles. */
  retryDelayMs?: number;
}

/** One TXT update: set `txt` on `sub`, or clear it. */
export interface TxtUpdate {
  sub: string;
  txt: string;
  clear: boolean;
}

/** DuckDNS's update endpoint for TXT values. */
export class DuckDnsClient {
  readonly #origin: string;

  constructor(private readonly options: DuckDnsClientOptions) {
    this.#origin = new URL(options.baseURL).origin;
  }

  /**
   * Sends one update, retrying transient failures. `signal` (the run's) stops the request and
   * the waits at once; a clear is sent without it, so cleanup still happens after Ctrl-C.
   */
  async update(update: TxtUpdate, signal?: AbortSignal): Promise<void> {
    const action = update.clear ? `clear the TXT record of ${update.sub}.duckdns.org` : `set the TXT record of ${update.sub}.duckdns.org`;
    const policy = { attempts: 3, baseDelayMs: this.options.retryDelayMs ?? 1000, maxWaitMs: 60_000 };
    await withRetry(`duckdns: ${action}`, () => this.#once(update, action, signal), { logger: this.options.logger, signal, policy });
    this.options.logger.debug({ domain: `${update.sub}.duckdns.org`, clear: update.clear }, 'DuckDNS TXT record updated');
  }

  async #once(update: TxtUpdate, action: string, signal?: AbortSignal): Promise<void> {
    // `txt` always goes with it, empty for a clear: `clear=true` WITHOUT `txt` is the IP update's
    // clear, which would blank the domain's A/AAAA records (spec.jsp, "clear").
    const query = new URLSearchParams({ domains: update.sub, token: this.options.token.reveal(), txt: update.txt });
    if (update.clear) query.set('clear', 'true');
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    let status: number;
    let body: string;
    try {
      const response = await fetch(`${this.options.baseURL}/update?${query}`, { signal: signal ? AbortSignal.any([timeout, signal]) : timeout, redirect: 'error' });
      status = response.status;
      body = await response.text();
    } catch (err) {
      throw this.#failure(err, action, timeout, signal);
    }
    if (status !== 200) throw statusError(action, status);
    const answer = body.trim().split('\n')[0]?.trim();
    if (answer === 'KO') throw refusedError(action, update.sub);
    if (answer !== 'OK') throw unexpectedAnswerError(action);
  }

  /** What a failed fetch means, without its message (undici's may quote the URL, and so the token). */
  #failure(err: unknown, action: string, timeout: AbortSignal, signal?: AbortSignal): DnsProviderError | AbortedError {
    if (signal?.aborted) return new AbortedError();
    if (timeout.aborted) return timeoutError(action, this.#origin, this.options.timeoutMs);
    const cause = (err as { cause?: { code?: string } } | undefined)?.cause;
    return unreachableError(action, this.#origin, cause?.code);
  }
}

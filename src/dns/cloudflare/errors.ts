import { AbortedError, DnsProviderError, type NrcertError } from '../../errors';
import { FetchFailure } from './fetch';
import { TOKEN_PAGE } from './config';

/** Cloudflare's page for creating a scoped API token: where every permission message points. */
export { TOKEN_PAGE };

interface SdkError {
  status?: number;
  errors?: Array<{ code?: number; message?: string }>;
  message?: string;
  name?: string;
}

/** The error nrcert's own fetch stopped a request with (timeout, a Retry-After too long, Ctrl-C), if that is what happened. */
export function ownFailure(err: unknown): NrcertError | undefined {
  if (err instanceof FetchFailure) return err.reason;
  const cause = (err as { cause?: unknown } | undefined)?.cause;
  return cause instanceof FetchFailure ? cause.reason : undefined;
}

/** True when Cloudflare answered and refused (4xx other than 429): the request was not carried out. */
export function isRefusal(err: unknown): boolean {
  const status = ((err instanceof DnsProviderError ? err.cause : err) as SdkError | undefined)?.status;
  return status !== undefined && status >= 400 && status < 500 && status !== 429;
}

/**
 * Turns whatever the Cloudflare SDK threw during `action` into a DnsProviderError that says
 * what failed and what to do, marked transient for network trouble, 429 and 5xx. The SDK's
 * errors carry the HTTP status and the envelope's `errors[{code,message}]`; we branch on those,
 * never on message text, and never copy request headers (the token) into the message. An
 * interrupted run stays an AbortedError.
 */
export function cloudflareError(action: string, err: unknown): DnsProviderError | AbortedError {
  const own = ownFailure(err);
  if (own instanceof AbortedError) return own;
  if (own) return new DnsProviderError(`cloudflare: failed to ${action}: ${own.message}`, { cause: own, transient: own.transient });
  const e = (err ?? {}) as SdkError;
  const detail = (e.errors ?? []).map((x) => `${x.code}: ${x.message}`).join('; ');
  const status = e.status;
  const what = `cloudflare: failed to ${action}`;
  if (status === undefined) {
    return new DnsProviderError(`${what}: cannot reach the Cloudflare API (${e.name ?? 'network error'}); check the network and try again`, {
      cause: err,
      transient: true,
    });
  }
  const reason = `HTTP ${status}${detail ? ` ${detail}` : ''}`;
  if (status === 401 || status === 403) {
    return new DnsProviderError(
      `${what} (${reason}): CLOUDFLARE_API_TOKEN was refused or lacks a permission; it needs Zone:Read and DNS:Edit on this zone (${TOKEN_PAGE})`,
      { cause: err },
    );
  }
  if (status === 429 || status >= 500) {
    return new DnsProviderError(`${what} (${reason}): Cloudflare is busy or failing; nrcert will try again later`, {
      cause: err,
      transient: true,
    });
  }
  return new DnsProviderError(`${what} (${reason})`, { cause: err });
}

/** The error for an API call that answered 200 with `success: false` (the SDK returns null then). */
export function emptyResultError(action: string): DnsProviderError {
  return new DnsProviderError(`cloudflare: failed to ${action}: the API answered without a result`, { transient: true });
}

import { DnsProviderError } from '../../errors';

/** Cloudflare's page for creating a scoped API token: where every permission message points. */
export const TOKEN_PAGE = 'https://dash.cloudflare.com/profile/api-tokens';

interface SdkError {
  status?: number;
  errors?: Array<{ code?: number; message?: string }>;
  message?: string;
  name?: string;
}

/**
 * Turns whatever the Cloudflare SDK threw during `action` into a DnsProviderError that says
 * what failed and what to do, marked transient for network trouble, 429 and 5xx. The SDK's
 * errors carry the HTTP status and the envelope's `errors[{code,message}]`; we branch on those,
 * never on message text, and never copy request headers (the token) into the message.
 */
export function cloudflareError(action: string, err: unknown): DnsProviderError {
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

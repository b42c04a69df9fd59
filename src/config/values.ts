/**
 * Checks of single setting values that loadConfig shares: durations, URLs, resolvers, e-mail.
 * Each says what is wrong in words a user can act on; none echoes a control character back.
 */
import { domainProblem } from './domains';

type Env = Record<string, string | undefined>;

/** The longest any duration setting may be, in seconds, unless DURATION_MAX_SECONDS says otherwise. */
export const DEFAULT_MAX_SECONDS = 3600;

/**
 * Per-setting maxima. Every one stays far below 2^31 ms (24.8 days): Node turns a longer
 * setTimeout into 1 ms, so RESTART_TIMEOUT=99999999 used to kill the hook at once.
 */
export const DURATION_MAX_SECONDS: Readonly<Record<string, number>> = {
  RENEW_START_DELAY: 86_400,
  EDITOR_RENEW_INTERVAL: 86_400,
  ACME_TIMEOUT: 600,
  CLOUDFLARE_TIMEOUT: 600,
  DUCKDNS_TIMEOUT: 600,
};

/**
 * A duration setting in milliseconds: seconds (fractions allowed), positive (or zero when
 * `zeroAllowed`), at most its maximum. A bad value is a problem naming the setting; the
 * fallback is returned so the other settings can still be checked.
 */
export function readSeconds(env: Env, name: string, fallback: number, problems: string[], zeroAllowed = false): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback * 1000;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds < 0 || (seconds === 0 && !zeroAllowed)) {
    problems.push(`${name}: "${printable(raw)}" is not a positive number of seconds`);
    return fallback * 1000;
  }
  const max = DURATION_MAX_SECONDS[name] ?? DEFAULT_MAX_SECONDS;
  if (seconds > max) {
    problems.push(`${name}: "${raw}" is too long; give at most ${max} seconds (${max / 3600} h)`);
    return fallback * 1000;
  }
  return seconds * 1000;
}

/**
 * Why `raw` is not an absolute URL of one of `protocols` (e.g. `['https:']`) with a host, or
 * null when it is one. The WHATWG parser alone would read `http:///x` as host `x`.
 */
export function urlProblem(raw: string, protocols: string[]): string | null {
  if (/\s/.test(raw)) return 'contains white space';
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/?#]/i.test(raw)) return 'has no host';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'is not a URL (check the host and the port, 1 to 65535)';
  }
  if (!protocols.includes(url.protocol)) return `is not an ${protocols.map((p) => p.slice(0, -1)).join(' or ')} URL`;
  return url.hostname ? null : 'has no host';
}

/** Why a DNS_RESOLVERS entry is not `host[:port]` with a port from 1 to 65535, or null. */
export function resolverProblem(entry: string): string | null {
  const m = /^(\[[0-9a-f:]+\]|[a-z0-9.-]+|[0-9a-f:]+)(?::(\d{1,5}))?$/i.exec(entry);
  if (!m) return 'is not host[:port] (e.g. 1.1.1.1 or 127.0.0.1:8053)';
  const port = m[2];
  if (port !== undefined && !(Number(port) >= 1 && Number(port) <= 65535)) return `has port ${port}: a port is 1 to 65535`;
  return null;
}

/**
 * Why ACME_EMAIL is not one plain address (RFC 5322 dot-atom local part, a DNS domain with a
 * dot), or null. Let's Encrypt refuses the account otherwise, after the run has started.
 */
export function emailProblem(email: string): string | null {
  if (/[\u0000-\u001f\u007f]/.test(email)) return 'contains a control character (a NUL, tab or line break): retype it';
  const at = email.lastIndexOf('@');
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  const localOk = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/i.test(local) && local.length <= 64;
  if (at < 1 || !localOk || email.length > 254 || domain.startsWith('*') || domainProblem(domain) !== null) {
    return 'is not an e-mail address (one address such as you@example.com; leave it empty for none)';
  }
  return null;
}

/** `raw` with control characters shown as \uXXXX, so a message never carries them. */
export function printable(raw: string): string {
  return raw.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A per-request timeout (ACME_TIMEOUT, CLOUDFLARE_TIMEOUT): 1 to 600 seconds (values.ts), 30 by default. */
export function readRequestTimeout(env: Env, name: string, problems: string[]): number {
  const ms = readSeconds(env, name, 30, problems);
  if (ms < 1000) {
    problems.push(`${name}: "${printable(env[name] ?? '')}" is shorter than 1 second`);
    return 30_000;
  }
  return ms;
}

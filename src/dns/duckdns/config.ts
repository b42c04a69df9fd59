/**
 * DuckDNS's settings (lego's NewDefaultConfig): the account token, an optional API base URL
 * (tests), a request timeout, the pause between two authorizations, and the check that every name
 * on the certificate is one DuckDNS can publish a TXT value for. Nothing here talks to DuckDNS.
 */
import { parseDomains } from '../../config/domains';
import { readSecretSetting, type SettingsContext } from '../../config/provider-settings';
import type { Secret } from '../../config/secret';
import { printable, readRequestTimeout, readSeconds, urlProblem } from '../../config/values';
import { ACCOUNT_PAGE } from './errors';

/** The settings this provider reads. */
export const DUCKDNS_SETTINGS = [
  'DUCKDNS_TOKEN', 'DUCKDNS_TOKEN_FILE', 'DUCKDNS_BASE_URL', 'DUCKDNS_TIMEOUT', 'DUCKDNS_SEQUENCE_INTERVAL',
] as const;

/** DuckDNS's API host; the update endpoint is `<base>/update` (https://www.duckdns.org/spec.jsp). */
export const DUCKDNS_BASE_URL = 'https://www.duckdns.org';

/** DUCKDNS_*: the token (absent when the command needs none), base URL, request timeout, pause. */
export interface DuckDnsSettings {
  token?: Secret;
  baseURL: string;
  /** DUCKDNS_TIMEOUT: how long one update request may go unanswered. */
  timeoutMs: number;
  /** DUCKDNS_SEQUENCE_INTERVAL: the pause before the next authorization's value replaces the last. */
  sequenceIntervalMs: number;
}

/** A DuckDNS token as the account page shows it: a UUID. */
const TOKEN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `<sub>.duckdns.org` or `*.<sub>.duckdns.org`: the names DuckDNS publishes a TXT value for. */
const DUCKDNS_NAME = /^(\*\.)?[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.duckdns\.org$/;

/** Reads DUCKDNS_* and checks DOMAINS against what DuckDNS can serve; every problem goes onto ctx.problems. */
export function readDuckDnsSettings(ctx: SettingsContext): DuckDnsSettings {
  const { env, problems } = ctx;
  const token = readSecretSetting(ctx, 'DUCKDNS_TOKEN', `copy the token shown at the top of ${ACCOUNT_PAGE} once logged in`);
  // Never echo the value: a token with one character off is still most of a token.
  if (token && !TOKEN.test(token.reveal())) {
    problems.push(`DUCKDNS_TOKEN is not a DuckDNS token (a UUID like 1a2b3c4d-…; copy it from the top of ${ACCOUNT_PAGE})`);
  }
  const baseURL = env.DUCKDNS_BASE_URL || DUCKDNS_BASE_URL;
  const badBase = env.DUCKDNS_BASE_URL && urlProblem(baseURL, ['http:', 'https:']);
  if (badBase) problems.push(`DUCKDNS_BASE_URL: "${printable(baseURL)}" ${badBase} (e.g. ${DUCKDNS_BASE_URL})`);
  // The token travels in the URL: plain http only to this machine (tests, a local proxy).
  else if (env.DUCKDNS_BASE_URL && /^http:/i.test(baseURL) && !isLoopbackUrl(baseURL)) {
    problems.push(`DUCKDNS_BASE_URL: "${printable(baseURL)}" is plain http to another machine, which would send DUCKDNS_TOKEN in clear; use https://`);
  }
  if (env.DOMAINS !== undefined) problems.push(...domainProblems(env.DOMAINS));
  return {
    token,
    baseURL: baseURL.replace(/\/+$/, ''),
    timeoutMs: readRequestTimeout(env, 'DUCKDNS_TIMEOUT', problems),
    sequenceIntervalMs: readSeconds(env, 'DUCKDNS_SEQUENCE_INTERVAL', 60, problems, true),
  };
}

/**
 * Every name DuckDNS cannot validate: it publishes one TXT value per domain `<sub>.duckdns.org`,
 * served at that name and below, so a certificate holds `<sub>.duckdns.org` and its wildcard.
 * Names DOMAINS itself refuses are reported by config.ts already.
 */
function domainProblems(raw: string): string[] {
  return parseDomains(raw).names.filter((n) => !DUCKDNS_NAME.test(n)).map((n) =>
    `DOMAINS: "${n}" is not a DuckDNS name: with DNS_PROVIDER=duckdns every name is <sub>.duckdns.org or *.<sub>.duckdns.org ` +
      '(e.g. DOMAINS=home.duckdns.org,*.home.duckdns.org); for another domain choose its own DNS_PROVIDER');
}

/** The DuckDNS domain (`<sub>`, without .duckdns.org) whose TXT value serves `fqdn`, or undefined. */
export function duckDnsSubdomain(fqdn: string): string | undefined {
  const labels = fqdn.toLowerCase().replace(/\.$/, '').split('.');
  if (labels.length < 3 || labels.at(-1) !== 'org' || labels.at(-2) !== 'duckdns') return undefined;
  return labels.at(-3);
}

/** True for an http(s) URL whose host is a loopback address or localhost. */
function isLoopbackUrl(url: string): boolean {
  try {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
  } catch {
    return false;
  }
}

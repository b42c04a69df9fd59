/**
 * DuckDNS's errors, each a DnsProviderError prefixed `duckdns:` that says what failed and what to
 * do. The update endpoint answers a plain `OK` or `KO` (https://www.duckdns.org/spec.jsp): `KO`
 * means the token or the domain was refused, which trying again does not change; HTTP 5xx, no
 * answer and a timeout are transient. The token travels in the request URL, so no message here
 * carries the URL's query, a response body or an underlying error's message: only names, codes
 * and statuses.
 */
import { DnsProviderError } from '../../errors';

/** Where a DuckDNS user finds their token and their domains. */
export const ACCOUNT_PAGE = 'https://www.duckdns.org';

/** DuckDNS answered `KO`: the token is wrong, or `<sub>` is not a domain of the account. */
export function refusedError(action: string, sub: string): DnsProviderError {
  return new DnsProviderError(
    `duckdns: failed to ${action}: DuckDNS answered KO: DUCKDNS_TOKEN is wrong, or ${sub}.duckdns.org is not one of the ` +
      `account's domains; compare both with ${ACCOUNT_PAGE} (logged in) and fix DUCKDNS_TOKEN or DOMAINS`,
  );
}

/** An HTTP status other than 200: 5xx (and 429) transient, anything else not. */
export function statusError(action: string, status: number): DnsProviderError {
  const transient = status >= 500 || status === 429 || status === 408;
  return new DnsProviderError(
    `duckdns: failed to ${action}: HTTP ${status}${transient ? ': DuckDNS is busy or failing; nrcert will try again later' : ''}`,
    { transient },
  );
}

/** A 200 whose body is neither OK nor KO (a captive portal, a proxy page). */
export function unexpectedAnswerError(action: string): DnsProviderError {
  return new DnsProviderError(
    `duckdns: failed to ${action}: the answer was neither OK nor KO (a proxy or captive portal in the way?); nrcert will try again later`,
    { transient: true },
  );
}

/** No answer: the network error's code only (its message may quote the request). */
export function unreachableError(action: string, origin: string, code: string | undefined): DnsProviderError {
  return new DnsProviderError(
    `duckdns: failed to ${action}: cannot reach ${origin} (${code ?? 'network error'}); check the network and try again`,
    { transient: true },
  );
}

/** No answer within DUCKDNS_TIMEOUT. */
export function timeoutError(action: string, origin: string, timeoutMs: number): DnsProviderError {
  return new DnsProviderError(
    `duckdns: failed to ${action}: ${origin} did not answer within ${timeoutMs / 1000} s (DUCKDNS_TIMEOUT raises it)`,
    { transient: true },
  );
}

/** A name DuckDNS holds no TXT value for (config.ts refuses such DOMAINS first). */
export function notDuckDnsError(fqdn: string): DnsProviderError {
  return new DnsProviderError(`duckdns: ${fqdn} is not under a <sub>.duckdns.org domain; DuckDNS cannot publish a TXT record for it`);
}

import type { AxiosAdapter, AxiosResponse, InternalAxiosRequestConfig } from 'axios';
import type { Client } from 'acme-client';
import { AcmeError } from '../errors';
import { parseRetryAfter } from '../util/retry';

export { parseRetryAfter };

type AcmeModule = typeof import('acme-client');

let installed = false;

/**
 * Makes acme-client's HTTP layer fail fast and legibly. Left alone it retries network errors,
 * 429 and 5xx five times with up to 25 s sleeps (or hours, if a rate limit's Retry-After says
 * so), then hides the cause behind `TypeError: ... reading 'config'`. We wrap its HTTP adapter:
 * every error response becomes an AcmeError with the problem document's type and detail and the
 * Retry-After date, every network failure an AcmeError naming the host and what to do, a request
 * unanswered after `timeoutMs` (ACME_TIMEOUT) one that says so. Errors we throw carry no axios
 * `config`, so acme-client's own retry interceptor passes them through; badNonce still reaches
 * acme-client, which retries it itself (RFC 8555 §6.5; see guardBadNonce). Our own retry
 * (retry.ts) then decides, honouring Retry-After.
 */
export function installAcmeHttpGuards(acme: AcmeModule, timeoutMs = 30_000): void {
  acme.axios.defaults.timeout = timeoutMs;
  if (installed) return;
  installed = true;
  const axios = require('axios') as typeof import('axios');
  const http = axios.getAdapter('http') as AxiosAdapter;
  const settings = (acme.axios.defaults as unknown as { acmeSettings: { retryMaxAttempts: number } }).acmeSettings;
  settings.retryMaxAttempts = 0;
  acme.axios.defaults.adapter = async (config: InternalAxiosRequestConfig) => {
    try {
      return await http(config);
    } catch (err) {
      const response = (err as { response?: AxiosResponse }).response;
      if (!response) throw networkError(config, err as NodeJS.ErrnoException);
      if (response.status < 400) throw err;
      const problem = parseProblem(response.data);
      if (problem.type === 'urn:ietf:params:acme:error:badNonce') throw err;
      throw problemError(config, response, problem);
    }
  };
}

interface Problem {
  type?: string;
  detail?: string;
  subproblems?: Array<{ detail?: string; identifier?: { value?: string } }>;
}

function parseProblem(data: unknown): Problem {
  if (typeof data === 'object' && data !== null && !Buffer.isBuffer(data)) return data as Problem;
  try {
    return JSON.parse(Buffer.isBuffer(data) ? data.toString('utf8') : String(data)) as Problem;
  } catch {
    return {};
  }
}

function problemError(config: InternalAxiosRequestConfig, response: AxiosResponse, problem: Problem): AcmeError {
  const status = response.status;
  const type = problem.type?.replace('urn:ietf:params:acme:error:', '') ?? `HTTP ${status}`;
  const sub = (problem.subproblems ?? []).map((s) => `${s.identifier?.value ?? ''}: ${s.detail ?? ''}`).join('; ');
  const detail = [problem.detail, sub].filter(Boolean).join(' — ') || `HTTP ${status}`;
  const retryAfter = parseRetryAfter(response.headers?.['retry-after']);
  const transient = status === 429 || status >= 500 || type === 'serverInternal' || type === 'rateLimited';
  if (config.method?.toLowerCase() === 'get') {
    // acme-client's one GET is the directory (all else is HEAD newNonce or POST, RFC 8555 §6.3): name the setting.
    const fix = status === 404 ? '; set ACME_DIRECTORY to production, staging or the URL of an ACME directory' : '';
    const said = detail === `HTTP ${status}` ? '' : ` (${detail})`;
    return new AcmeError(`ACME_DIRECTORY: ${config.url} answered HTTP ${status}${said}${fix}`, { transient, retryAfter, problemType: type, status });
  }
  return new AcmeError(`the ACME server refused ${shortUrl(config)} (${type}): ${detail}`, { transient, retryAfter, problemType: type, status });
}

const BAD_NONCE = 'urn:ietf:params:acme:error:badNonce';

/**
 * acme-client retries a badNonce itself (five times, RFC 8555 §6.5) and then throws the bare
 * problem as a plain Error: a CA rejecting most nonces would end as exit 1 and a permanent
 * back-off. Wrapping the client's signed requests, the answer that is still badNonce after its
 * retries becomes a transient AcmeError naming the CA.
 */
export function guardBadNonce(client: Client, directoryUrl: string): void {
  const http = (client as unknown as { http?: SignedRequester }).http;
  if (typeof http?.signedRequest !== 'function') return; // another acme-client inside: its own message then
  const signedRequest = http.signedRequest.bind(http);
  const retries = http.maxBadNonceRetries ?? 5;
  http.signedRequest = async (url, payload, opts, attempts = 0) => {
    const response = await signedRequest(url, payload, opts, attempts);
    if (attempts > 0 || response.status !== 400 || parseProblem(response.data).type !== BAD_NONCE) return response;
    throw new AcmeError(
      `the ACME server at ${directoryUrl} kept rejecting nonces (badNonce, ${retries + 1} times in a row for ${shortUrl({ url, method: 'post' } as InternalAxiosRequestConfig)}); ` +
        'this is on the CA\'s side, nrcert will try again later',
      { transient: true, problemType: 'badNonce', status: 400 },
    );
  };
}

/** The part of acme-client's HttpClient that guardBadNonce wraps. */
interface SignedRequester {
  maxBadNonceRetries?: number;
  signedRequest(url: string, payload: unknown, opts?: unknown, attempts?: number): Promise<AxiosResponse>;
}

function networkError(config: InternalAxiosRequestConfig, err: NodeJS.ErrnoException): AcmeError {
  const code = err.code ?? 'error';
  if ((code === 'ECONNABORTED' || code === 'ETIMEDOUT') && config.timeout) {
    return new AcmeError(
      `the ACME server at ${urlOf(config)} did not answer within ${config.timeout / 1000} s (ACME_TIMEOUT raises it); check the network and ACME_DIRECTORY`,
      { transient: true, timedOut: true },
    );
  }
  const tls = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code);
  const hint = tls
    ? 'its TLS certificate is not trusted; for a private or test CA, point NODE_EXTRA_CA_CERTS at its CA file'
    : 'check the network and ACME_DIRECTORY';
  return new AcmeError(`cannot reach the ACME server at ${hostOf(config)} (${code}): ${hint}`, { transient: !tls });
}

/** The request's URL without its query. */
function urlOf(config: InternalAxiosRequestConfig): string {
  try {
    const url = new URL(config.url ?? '');
    return `${url.origin}${url.pathname}`;
  } catch {
    return String(config.url);
  }
}

function hostOf(config: InternalAxiosRequestConfig): string {
  try {
    return new URL(config.url ?? '').host;
  } catch {
    return String(config.url);
  }
}

function shortUrl(config: InternalAxiosRequestConfig): string {
  try {
    const url = new URL(config.url ?? '');
    return `${(config.method ?? 'get').toUpperCase()} ${url.pathname.split('/').slice(0, 3).join('/')}`;
  } catch {
    return 'a request';
  }
}

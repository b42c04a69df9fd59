/**
 * ACME Renewal Information (ARI, RFC 9773): the CA's suggested renewal window for a certificate.
 * Light on purpose (node:crypto and node:https only): the service asks it on every tick, and a
 * Raspberry Pi pays for every module loaded. ARI is advisory: any failure here means "decide
 * without it", never "do not renew". node:https (with tls and http) is required by the fetch
 * only: the idle service reads the saved window through here for the editor's status, and would
 * otherwise keep ≈ 1 MB of HTTP and TLS code resident for a request it never makes.
 */
import { X509Certificate } from 'node:crypto';
import type { Agent as HttpsAgent } from 'node:https';
import { AcmeError } from '../errors';
import { parseRetryAfter } from './http';

/** A time span the CA suggests renewing in (RFC 9773 §4.2 `suggestedWindow`). */
export interface RenewalWindow {
  start: Date;
  end: Date;
}

/**
 * What the CA said about one certificate: the one runtime shape of ARI (the policy reads it, the
 * renewal sends its `certId` as `replaces`); STATE_DIR/ari.json keeps it as AriState.
 */
export interface RenewalInfo {
  /** The certificate's ARI id: the renewalInfo path segment and the `replaces` of a renewal. */
  certId: string;
  /** The suggested window (RFC 9773 §4.2 `suggestedWindow`). */
  window: RenewalWindow;
  /** The random time inside the window, chosen once and kept by the caller (RFC 9773 §4.2). */
  chosenAt?: Date;
  /** A page explaining an unusual window (e.g. a revocation incident), to show the user. */
  explanationURL?: string;
  /** When to ask again: the Retry-After header, default six hours, kept within [1 min, 24 h]. */
  retryAfter: Date;
}

/** The answer of fetchRenewalInfo: the window, or why there is none (decide without ARI). */
export type RenewalInfoResult =
  | { ok: true; info: RenewalInfo }
  | { ok: false; unsupported: boolean; reason: string };

/** Options of fetchRenewalInfo. `ca` replaces the trusted roots (tests); NODE_EXTRA_CA_CERTS applies otherwise. */
export interface FetchRenewalInfoOptions {
  now: Date;
  timeoutMs?: number;
  ca?: string | Buffer;
}

const DEFAULT_RETRY_MS = 6 * 3600_000;
const MIN_RETRY_MS = 60_000;
const MAX_RETRY_MS = 24 * 3600_000;
const MAX_BODY_BYTES = 256 * 1024;
/** DER of the OID 2.5.29.35 (authorityKeyIdentifier). */
const AKI_OID = Buffer.from([0x55, 0x1d, 0x23]);

interface Tlv {
  tag: number;
  /** Offset of the first content byte. */
  start: number;
  /** Offset just past the last content byte. */
  end: number;
}

function readTlv(der: Buffer, pos: number, limit: number): Tlv {
  if (pos + 2 > limit) throw new Error('truncated DER');
  const tag = der[pos]!;
  let length = der[pos + 1]!;
  let start = pos + 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    if (bytes === 0 || bytes > 4 || start + bytes > limit) throw new Error('unsupported DER length');
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + der[start + i]!;
    start += bytes;
  }
  if (start + length > limit) throw new Error('truncated DER');
  return { tag, start, end: start + length };
}

function children(der: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let pos = parent.start; pos < parent.end; pos = out[out.length - 1]!.end) out.push(readTlv(der, pos, parent.end));
  return out;
}

/** The AKI keyIdentifier bytes among the TBSCertificate's fields, or undefined. */
function authorityKeyId(der: Buffer, tbsFields: Tlv[]): Buffer | undefined {
  const extensions = tbsFields.find((f) => f.tag === 0xa3);
  if (!extensions) return undefined;
  const [list] = children(der, extensions);
  for (const ext of list ? children(der, list) : []) {
    const [oid, ...rest] = children(der, ext);
    if (!oid || oid.tag !== 0x06 || !der.subarray(oid.start, oid.end).equals(AKI_OID)) continue;
    const value = rest.find((f) => f.tag === 0x04);
    const [aki] = value ? children(der, value) : [];
    const keyId = aki ? children(der, aki).find((f) => f.tag === 0x80) : undefined;
    return keyId ? der.subarray(keyId.start, keyId.end) : undefined;
  }
  return undefined;
}

/**
 * The ARI certificate id (RFC 9773 §4.1): base64url of the Authority Key Identifier's
 * keyIdentifier, a dot, base64url of the serial number's DER content bytes exactly as encoded
 * (a leading 0x00 included). Read from the DER directly: no ASN.1 library to load.
 * Takes the first certificate of a PEM text. Throws AcmeError when there is no AKI.
 */
export function certificateId(cert: string | Buffer | X509Certificate): string {
  let serial: Buffer;
  let keyId: Buffer | undefined;
  try {
    const der = (cert instanceof X509Certificate ? cert : new X509Certificate(cert)).raw;
    const [tbs] = children(der, readTlv(der, 0, der.length));
    if (!tbs) throw new Error('no TBSCertificate');
    const fields = children(der, tbs);
    const serialField = fields[fields[0]?.tag === 0xa0 ? 1 : 0];
    if (!serialField || serialField.tag !== 0x02) throw new Error('no serial number');
    serial = der.subarray(serialField.start, serialField.end);
    keyId = authorityKeyId(der, fields);
  } catch (err) {
    throw new AcmeError(`cannot read the certificate for ARI: ${(err as Error).message}`, { cause: err });
  }
  if (!keyId) throw new AcmeError('the certificate has no Authority Key Identifier (keyIdentifier), so ARI cannot name it');
  return `${keyId.toString('base64url')}.${serial.toString('base64url')}`;
}

/** A uniformly random time inside the window (RFC 9773 §4.2); `random` returns [0, 1). */
export function pickRenewalTime(window: RenewalWindow, random: () => number = Math.random): Date {
  const span = window.end.getTime() - window.start.getTime();
  return new Date(window.start.getTime() + Math.floor(Math.max(0, span) * random()));
}

/**
 * The renewal time for a window: the earlier choice when the window has not moved (so repeated
 * checks do not re-roll the dice), else a new random time inside it. A CA moves the window when
 * it wants a certificate replaced sooner (e.g. before a mass revocation).
 */
export function chooseRenewalTime(
  window: RenewalWindow,
  previous?: { window: RenewalWindow; chosenAt?: Date } | null,
  random: () => number = Math.random,
): Date {
  const chosen = previous?.chosenAt;
  const same = chosen
    && previous.window.start.getTime() === window.start.getTime()
    && previous.window.end.getTime() === window.end.getTime()
    && chosen >= window.start && chosen <= window.end;
  return same ? chosen : pickRenewalTime(window, random);
}

/** Retry-After (seconds or HTTP date) as a date, defaulting to six hours, kept within [1 min, 24 h]. */
export function renewalInfoRetryAfter(header: unknown, now: Date): Date {
  const asked = parseRetryAfter(Array.isArray(header) ? header[0] : header, now.getTime());
  const ms = asked ? asked.getTime() - now.getTime() : DEFAULT_RETRY_MS;
  return new Date(now.getTime() + Math.min(MAX_RETRY_MS, Math.max(MIN_RETRY_MS, ms)));
}

interface JsonAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: unknown;
}

/** A plain HTTPS GET answering JSON (invalid JSON becomes undefined); rejects on network errors. */
function getJson(url: string, opts: FetchRenewalInfoOptions): Promise<JsonAnswer> {
  const { Agent, get } = require('node:https') as typeof import('node:https');
  const agent: HttpsAgent | undefined = opts.ca ? new Agent({ ca: opts.ca, keepAlive: false }) : undefined;
  const timeoutMs = opts.timeoutMs ?? 15_000;
  return new Promise<JsonAnswer>((resolve, reject) => {
    const req = get(url, { agent, timeout: timeoutMs, headers: { accept: 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) req.destroy(new Error('answer too large'));
        else chunks.push(chunk);
      });
      res.on('end', () => {
        let json: unknown;
        try {
          json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, json });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
  }).finally(() => agent?.destroy());
}

function parseWindow(json: unknown): RenewalWindow | undefined {
  const w = (json as { suggestedWindow?: { start?: unknown; end?: unknown } } | undefined)?.suggestedWindow;
  if (typeof w?.start !== 'string' || typeof w.end !== 'string') return undefined;
  const window = { start: new Date(w.start), end: new Date(w.end) };
  const valid = !Number.isNaN(window.start.getTime()) && !Number.isNaN(window.end.getTime()) && window.end > window.start;
  return valid ? window : undefined;
}

/**
 * Asks the CA when to renew the certificate with ARI id `certId` (see certificateId; RFC 9773 §4): reads the directory's `renewalInfo` URL,
 * then GETs `<renewalInfo>/<certId>` (unauthenticated). Never throws for network, HTTP or
 * format problems: those come back as `{ ok: false, reason }` so the caller decides without ARI.
 */
export async function fetchRenewalInfo(directoryUrl: string, certId: string, opts: FetchRenewalInfoOptions): Promise<RenewalInfoResult> {
  let step = 'the ACME directory';
  try {
    const dir = await getJson(directoryUrl, opts);
    if (dir.status !== 200) return failed(`${step} answered HTTP ${dir.status}`);
    const base = (dir.json as { renewalInfo?: unknown } | undefined)?.renewalInfo;
    if (typeof base !== 'string') return { ok: false, unsupported: true, reason: 'the ACME server offers no renewal information (ARI)' };
    step = 'its renewal information';
    const answer = await getJson(`${base.replace(/\/+$/, '')}/${certId}`, opts);
    if (answer.status !== 200) return failed(`${step} answered HTTP ${answer.status} for ${certId}`);
    const window = parseWindow(answer.json);
    if (!window) return failed(`${step} for ${certId} holds no valid suggestedWindow`);
    const explanation = (answer.json as { explanationURL?: unknown }).explanationURL;
    const info: RenewalInfo = { certId, window, retryAfter: renewalInfoRetryAfter(answer.headers['retry-after'], opts.now) };
    if (typeof explanation === 'string') info.explanationURL = explanation;
    return { ok: true, info };
  } catch (err) {
    return failed(`cannot fetch ${step}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function failed(reason: string): RenewalInfoResult {
  return { ok: false, unsupported: false, reason };
}

/**
 * RFC2136_* settings, read and checked in the provider's folder (as dns/cloudflare/config.ts):
 * the server, the TSIG key (name, algorithm, secret or secret file), an optional zone and the
 * request timeout. Every problem names its setting and the fix; none echoes the secret.
 */
import { readSecretSetting, type SettingsContext } from '../../config/provider-settings';
import type { Secret } from '../../config/secret';
import { domainProblem } from '../../config/domains';
import { printable, readRequestTimeout } from '../../config/values';

/** The TSIG algorithms BIND and Knot accept (hmac-md5 left out: RFC 8945 §6 says not for new keys). */
export const TSIG_ALGORITHMS = ['hmac-sha256', 'hmac-sha512', 'hmac-sha384', 'hmac-sha224', 'hmac-sha1'] as const;
export type TsigAlgorithm = (typeof TSIG_ALGORITHMS)[number];

/** The settings this provider reads. */
export const RFC2136_SETTINGS = [
  'RFC2136_SERVER', 'RFC2136_TSIG_KEY_NAME', 'RFC2136_TSIG_ALGORITHM', 'RFC2136_TSIG_SECRET', 'RFC2136_TSIG_SECRET_FILE',
  'RFC2136_ZONE', 'RFC2136_TIMEOUT',
] as const;

/** RFC2136_*: where to send updates, with which key, for which zone. */
export interface Rfc2136Settings {
  server: { host: string; port: number };
  keyName: string;
  algorithm: TsigAlgorithm;
  /** Absent when the command needs no credentials (status). */
  secret?: Secret;
  /** RFC2136_ZONE; found by SOA lookup at the server when absent. */
  zone?: string;
  /** RFC2136_TIMEOUT: how long one request may go unanswered (30 s unless told). */
  timeoutMs: number;
}

const KEYGEN = 'tsig-keygen -a hmac-sha256 nrcert (BIND) or keymgr -t nrcert hmac-sha256 (Knot)';

/** Reads RFC2136_*, pushing every problem found onto ctx.problems. */
export function readRfc2136Settings(ctx: SettingsContext): Rfc2136Settings {
  const { env, problems, purpose } = ctx;
  const server = readServer(env.RFC2136_SERVER?.trim(), problems, purpose === 'renew');
  const keyName = env.RFC2136_TSIG_KEY_NAME?.trim().replace(/\.$/, '') ?? '';
  if (!keyName && purpose === 'renew') problems.push(`RFC2136_TSIG_KEY_NAME is not set: give the name of the TSIG key in the server's configuration (made with ${KEYGEN})`);
  else if (keyName && !/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/i.test(keyName)) problems.push(`RFC2136_TSIG_KEY_NAME: "${printable(keyName)}" is not a key name (letters, digits, - and _ in dot-separated labels, e.g. nrcert or nrcert.example.com)`);
  const rawAlgorithm = env.RFC2136_TSIG_ALGORITHM?.trim().toLowerCase().replace(/\.$/, '') || 'hmac-sha256';
  const algorithm = (TSIG_ALGORITHMS as readonly string[]).includes(rawAlgorithm) ? (rawAlgorithm as TsigAlgorithm) : 'hmac-sha256';
  if (algorithm !== rawAlgorithm) problems.push(`RFC2136_TSIG_ALGORITHM: "${printable(rawAlgorithm)}" is not one of ${TSIG_ALGORITHMS.join(', ')} (the key's algorithm in the server's configuration)`);
  const secret = readSecretSetting(ctx, 'RFC2136_TSIG_SECRET', `give the key's base64 secret (the "secret" of the key made with ${KEYGEN}), or RFC2136_TSIG_SECRET_FILE`);
  if (secret && !isBase64(secret.reveal())) problems.push('RFC2136_TSIG_SECRET is not base64 (copy the "secret" of the key file exactly, e.g. from tsig-keygen)');
  const zone = env.RFC2136_ZONE?.trim().replace(/\.$/, '').toLowerCase() || undefined;
  const badZone = zone && domainProblem(zone);
  if (badZone) problems.push(`RFC2136_ZONE: "${printable(zone)}" ${badZone}; or leave it empty to find the zone by SOA lookup`);
  return { server, keyName, algorithm, secret, zone, timeoutMs: readRequestTimeout(env, 'RFC2136_TIMEOUT', problems) };
}

/** RFC2136_SERVER as host[:port] (an IPv6 address in brackets), port 53 unless given. */
function readServer(raw: string | undefined, problems: string[], required: boolean): Rfc2136Settings['server'] {
  const fallback = { host: '', port: 53 };
  if (!raw) {
    if (required) problems.push('RFC2136_SERVER is not set: give your primary DNS server as host[:port] (e.g. ns1.example.com or 192.0.2.1:53)');
    return fallback;
  }
  const m = /^(?:\[([0-9a-f:.]+)\]|([a-z0-9.-]+))(?::(\d{1,5}))?$/i.exec(raw) ?? /^([0-9a-f:]+:[0-9a-f:]*)()$/i.exec(raw);
  const port = m?.[3] === undefined ? 53 : Number(m[3]);
  if (!m || port < 1 || port > 65535) {
    problems.push(`RFC2136_SERVER: "${printable(raw)}" is not host[:port] with a port from 1 to 65535 (e.g. 192.0.2.1, ns1.example.com:5353 or [2001:db8::1]:53)`);
    return fallback;
  }
  return { host: m[1] || m[2]!, port };
}

function isBase64(value: string): boolean {
  return /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$/.test(value);
}

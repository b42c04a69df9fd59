/**
 * The fleet's settings (FLEET_*), read and validated with the others (config/config.ts) but owned
 * here, as a provider owns its own. Reading them loads no etcd code: the client is required only
 * where a fleet is configured (cli/renew-deps.ts, cli/run.ts, cli/fleet.ts).
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { Secret } from '../config/secret';
import { printable, urlProblem } from '../config/values';

/** Who may become the fleet's issuer: `auto` (the default) lets any host that has the token be elected. */
export const FLEET_ROLES = ['issuer', 'member', 'auto'] as const;
export type FleetRole = (typeof FLEET_ROLES)[number];

/** The FLEET_* settings of one host. */
export interface FleetConfig {
  /** FLEET_ETCD_ENDPOINTS: etcd client URLs, tried in turn. */
  endpoints: string[];
  /** FLEET_ETCD_CA_FILE / _CERT_FILE / _KEY_FILE, read at load (the key wrapped in Secret). */
  tls: { ca?: string; cert?: string; key?: Secret };
  /** FLEET_ETCD_USER + FLEET_ETCD_PASSWORD_FILE (etcd's own authentication). */
  auth?: { user: string; password: Secret };
  /** FLEET_NAME: one fleet = one certificate lineage under /nrcert/fleet/NAME/. */
  name: string;
  /** FLEET_KEY_FILE: the 32-byte AES-256-GCM key the private key is stored under. */
  key: Secret;
  role: FleetRole;
  /** FLEET_HOST: this host's name in the fleet (default: the hostname). */
  host: string;
  /** FLEET_LEASE_TTL: seconds after which a silent host's leases (issuer, lock, report) end. */
  leaseTtlSeconds: number;
}

type Env = Record<string, string | undefined>;

/** True when any FLEET_* setting is present: then the host is in a fleet. */
export function fleetConfigured(env: Env): boolean {
  return Object.keys(env).some((k) => k.startsWith('FLEET_') && env[k]?.trim());
}

/** The fleet settings, or undefined when none is set; every problem is pushed, each naming its setting. */
export function readFleet(env: Env, problems: string[], expand: (p: string) => string): FleetConfig | undefined {
  if (!fleetConfigured(env)) return undefined;
  const endpoints = (env.FLEET_ETCD_ENDPOINTS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (endpoints.length === 0) problems.push('FLEET_ETCD_ENDPOINTS is not set: list the etcd client URLs, e.g. https://10.0.0.5:2379,https://10.0.0.6:2379');
  for (const e of endpoints) {
    const bad = urlProblem(e, ['https:', 'http:']);
    if (bad) problems.push(`FLEET_ETCD_ENDPOINTS: "${printable(e)}" ${bad} (e.g. https://10.0.0.5:2379)`);
    // Endpoints are named in log lines and host reports: no credentials in them.
    else if (/^[a-z]+:\/\/[^/]*@/i.test(e)) problems.push('FLEET_ETCD_ENDPOINTS: an endpoint carries a user or password in its URL; give them as FLEET_ETCD_USER and FLEET_ETCD_PASSWORD_FILE');
  }
  const read = (name: string, secret = false): string | undefined => {
    const path = env[name]?.trim();
    if (!path) return undefined;
    try {
      const text = readFileSync(expand(path), 'utf8');
      if (!text.trim()) problems.push(`${name}: ${path} is empty`);
      return secret ? text.trim() : text;
    } catch (err) {
      problems.push(`${name}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      return undefined;
    }
  };
  const tls = { ca: read('FLEET_ETCD_CA_FILE'), cert: read('FLEET_ETCD_CERT_FILE'), key: wrap(read('FLEET_ETCD_KEY_FILE')) };
  if (Boolean(env.FLEET_ETCD_CERT_FILE?.trim()) !== Boolean(env.FLEET_ETCD_KEY_FILE?.trim())) {
    problems.push('FLEET_ETCD_CERT_FILE and FLEET_ETCD_KEY_FILE go together: set both (the client certificate etcd trusts) or neither');
  }
  const user = env.FLEET_ETCD_USER?.trim() || undefined;
  const password = read('FLEET_ETCD_PASSWORD_FILE', true);
  if (Boolean(user) !== Boolean(env.FLEET_ETCD_PASSWORD_FILE?.trim())) {
    problems.push('FLEET_ETCD_USER and FLEET_ETCD_PASSWORD_FILE go together: set both or neither');
  }
  if (user && endpoints.some((e) => /^http:/i.test(e))) {
    problems.push('FLEET_ETCD_ENDPOINTS: with FLEET_ETCD_USER every endpoint must be https:// (the password and etcd\'s token would cross the network in clear)');
  }
  const name = env.FLEET_NAME?.trim() ?? '';
  if (!name) problems.push('FLEET_NAME is not set: name the fleet (e.g. home); every host of one fleet uses the same name');
  else if (!/^[a-z0-9][a-z0-9._-]{0,62}$/i.test(name)) problems.push(`FLEET_NAME: "${printable(name)}" is not a name (letters, digits, . _ -; up to 63)`);
  const key = readKey(env, expand, problems);
  const role = (env.FLEET_ROLE?.trim().toLowerCase() || 'auto') as FleetRole;
  if (!FLEET_ROLES.includes(role)) problems.push(`FLEET_ROLE: "${printable(env.FLEET_ROLE ?? '')}" is not one of ${FLEET_ROLES.join(', ')}`);
  const host = env.FLEET_HOST?.trim() || hostname();
  if (!/^[a-z0-9][a-z0-9._-]{0,62}$/i.test(host)) problems.push(`FLEET_HOST: "${printable(host)}" is not a host name (letters, digits, . _ -; up to 63)`);
  const ttl = Number(env.FLEET_LEASE_TTL?.trim() || '15');
  if (!Number.isInteger(ttl) || ttl < 2 || ttl > 300) problems.push(`FLEET_LEASE_TTL: "${printable(env.FLEET_LEASE_TTL ?? '')}" is not a whole number of seconds from 2 to 300`);
  return {
    endpoints, tls, auth: user && password ? { user, password: new Secret(password) } : undefined,
    name, key: key ?? new Secret(''), role, host, leaseTtlSeconds: Number.isInteger(ttl) ? ttl : 15,
  };
}

/** FLEET_KEY_FILE: 32 raw bytes, 64 hex digits or 32 bytes in base64; kept as base64 inside a Secret. */
function readKey(env: Env, expand: (p: string) => string, problems: string[]): Secret | undefined {
  const path = env.FLEET_KEY_FILE?.trim();
  if (!path) {
    problems.push('FLEET_KEY_FILE is not set: create one with `head -c 32 /dev/urandom > fleet.key` and copy the same file to every host');
    return undefined;
  }
  let raw: Buffer;
  try {
    raw = readFileSync(expand(path));
  } catch (err) {
    problems.push(`FLEET_KEY_FILE: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    return undefined;
  }
  const text = raw.toString('latin1').trim();
  const bytes = raw.length === 32 ? raw
    : /^[0-9a-f]{64}$/i.test(text) ? Buffer.from(text, 'hex')
      : /^[A-Za-z0-9+/]{43}=$/.test(text) ? Buffer.from(text, 'base64') : undefined;
  if (!bytes || bytes.length !== 32) {
    problems.push(`FLEET_KEY_FILE: ${path} does not hold a 32-byte key (32 raw bytes, 64 hex digits or base64); create one with \`head -c 32 /dev/urandom > fleet.key\``);
    return undefined;
  }
  return new Secret(bytes.toString('base64'));
}

function wrap(value: string | undefined): Secret | undefined {
  return value === undefined ? undefined : new Secret(value);
}

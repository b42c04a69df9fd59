import { existsSync, lstatSync, readFileSync, readlinkSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'dotenv';
import { PROVIDER_SETTINGS } from '../dns/registry';

/** The settings nrcert knows; anything else in the env file is reported as a probable typo. */
export const KNOWN_SETTINGS: readonly string[] = [
  'DOMAINS', 'ACME_DIRECTORY', 'ACME_EMAIL', 'ACME_KEY_TYPE', 'ACME_EAB_KID', 'ACME_EAB_HMAC_KEY',
  'DNS_PROVIDER', ...PROVIDER_SETTINGS, 'DNS_RESOLVERS', 'DNS_PROPAGATION_TIMEOUT', 'CERT_DIR', 'STATE_DIR',
  'CERT_GROUP', 'CERT_OWNER', 'RESTART_COMMAND', 'RESTART_TIMEOUT', 'LOG_LEVEL', 'LOG_FORMAT', 'NRCERT_ENV_FILE',
  'NODE_RED_URL', 'NODE_RED_VERIFY_TIMEOUT', 'NODE_RED_SNI', 'ACME_PROFILE', 'RENEW_SCHEDULE',
  'RENEW_START_DELAY', 'NOTIFY_COMMAND', 'NOTIFY_URL', 'METRICS_FILE', 'NODE_RED_USER_DIR', 'NODE_EXTRA_CA_CERTS',
  'ACME_TIMEOUT', 'EDITOR_DIR', 'EDITOR_RENEW_INTERVAL',
  'FLEET_ETCD_ENDPOINTS', 'FLEET_ETCD_CA_FILE', 'FLEET_ETCD_CERT_FILE', 'FLEET_ETCD_KEY_FILE', 'FLEET_ETCD_USER',
  'FLEET_ETCD_PASSWORD_FILE', 'FLEET_NAME', 'FLEET_KEY_FILE', 'FLEET_ROLE', 'FLEET_HOST', 'FLEET_LEASE_TTL',
];

/** The result of reading a dotenv file: its variables and the problems found in its syntax. */
export interface EnvFile {
  path: string;
  values: Record<string, string>;
  problems: string[];
  /** Names the file sets that nrcert does not use (left alone, but worth a look). */
  warnings: string[];
}

/**
 * Reads a dotenv file with dotenv's own parser, and also reports what that parser silently
 * drops (a line that is not NAME=value) and names close to a known setting, so a typo such as
 * `DOMAIN=` is an error instead of being ignored. Other unknown names are only warnings: the
 * file may be shared with other tools.
 */
export function readEnvFile(path: string): EnvFile {
  const text = readFileSync(path, 'utf8');
  const warnings: string[] = [];
  return { path, values: parse(text), problems: lintEnvText(text, path, warnings), warnings };
}

/**
 * Where `path` points when it is a symbolic link to nothing, else null. Such a link is an
 * error, not "no env file": it was meant to be read (a moved file, an unmounted disk).
 */
export function danglingLinkTarget(path: string): string | null {
  try {
    if (!lstatSync(path).isSymbolicLink() || existsSync(path)) return null;
    return resolve(dirname(path), readlinkSync(path));
  } catch {
    return null;
  }
}

function lintEnvText(text: string, path: string, warnings: string[]): string[] {
  const problems: string[] = [];
  let openQuote: string | null = null;
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (openQuote) {
      if (line.endsWith(openQuote)) openQuote = null;
      return;
    }
    if (line === '' || line.startsWith('#')) return;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line);
    if (!m) {
      problems.push(`${path} line ${index + 1}: expected NAME=value (the line is ignored otherwise); fix or remove it`);
      return;
    }
    const [, name, value] = m;
    const quote = value[0];
    if ((quote === '"' || quote === "'" || quote === '`') && !value.slice(1).includes(quote)) openQuote = quote;
    if (!(KNOWN_SETTINGS as readonly string[]).includes(name)) {
      const guess = closestSetting(name);
      if (guess) problems.push(`${path} line ${index + 1}: unknown setting ${name} (did you mean ${guess}?)`);
      else warnings.push(`${path} line ${index + 1}: ${name} is not an nrcert setting; it is ignored`);
    }
  });
  if (openQuote) problems.push(`${path}: a quoted value is never closed (missing ${openQuote})`);
  return problems;
}

function closestSetting(name: string): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const known of KNOWN_SETTINGS) {
    const distance = editDistance(name.toUpperCase(), known);
    if (distance <= 3 && (!best || distance < best.distance)) best = { name: known, distance };
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length];
}

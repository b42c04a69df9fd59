import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError } from '../errors';
import { nrcertCommand } from '../util/hint';
import { parseDomains } from './domains';
import { danglingLinkTarget, KNOWN_SETTINGS, readEnvFile } from './env-file';
import { splitArgv } from './argv';
import { Secret } from './secret';
import type { SettingsContext } from './provider-settings';
import { DNS_PROVIDERS, PROVIDER_NAMES } from '../dns/registry';
import { emailProblem, printable, readRequestTimeout, readSeconds, resolverProblem, urlProblem } from './values';
import { readFleet, type FleetConfig } from '../fleet/config';

/** A path from a setting or an answer, absolute: a leading `~` is `home`, a relative one is against `cwd`. */
export function expandPath(path: string, home: string, cwd: string): string {
  return resolve(cwd, path.replace(/^~(?=$|\/)/, home));
}

/** Let's Encrypt's directories, by the names ACME_DIRECTORY accepts. */
export const ACME_DIRECTORIES = {
  production: 'https://acme-v02.api.letsencrypt.org/directory',
  staging: 'https://acme-staging-v02.api.letsencrypt.org/directory',
} as const;

/** Certificate key types ACME_KEY_TYPE accepts. */
export const KEY_TYPES = ['ecdsa-p256', 'ecdsa-p384', 'rsa-2048', 'rsa-4096'] as const;
export type KeyType = (typeof KEY_TYPES)[number];

/** How log lines look (LOG_FORMAT): `auto` picks by where stderr goes (journal, terminal, else JSON). */
export const LOG_FORMATS = ['auto', 'json', 'human'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Everything nrcert reads from the environment, validated and typed. */
export interface Config {
  envFile: string | null;
  /** Things worth a look that do not stop nrcert (unknown names in the env file). */
  warnings: string[];
  domains: string[];
  acme: {
    directoryUrl: string;
    email?: string;
    keyType: KeyType;
    /** ACME_PROFILE: certificate profile asked for on new orders (e.g. tlsserver, shortlived). */
    profile?: string;
    eab?: { kid: string; hmacKey: Secret };
    /** ACME_TIMEOUT: how long one request to the ACME server may go unanswered. */
    timeoutMs: number;
  };
  dns: {
    /** DNS_PROVIDER: a name of dns/registry.ts. */
    provider: string;
    /** That provider's own settings, as its folder reads them (e.g. dns/cloudflare/config.ts). */
    settings: unknown;
    resolvers?: string[];
    propagationTimeoutMs: number;
  };
  certDir: string;
  stateDir: string;
  certGroup?: string;
  certOwner?: string;
  /** RESTART_COMMAND: argv to run, or `auto` (find the nodered systemd unit at run time). */
  restart?: { argv: string[]; auto: boolean; timeoutMs: number };
  nodeRed: {
    /** NODE_RED_URL: where to check that the new certificate is served; no check when absent. */
    url?: string;
    /** NODE_RED_SNI: the name sent in the TLS handshake (default: first non-wildcard name). */
    servername: string;
    verifyTimeoutMs: number;
    /** NODE_RED_USER_DIR: where settings.js lives (`settings --apply`, `doctor`); found when absent. */
    userDir?: string;
  };
  service: {
    /** RENEW_SCHEDULE: node-cron expression; absent = twice a day at a minute chosen once per install. */
    schedule?: string;
    /** RENEW_START_DELAY: the first check after `nrcert run` starts. */
    startDelayMs: number;
  };
  notify: {
    /** NOTIFY_COMMAND: argv run with the event as JSON on stdin and in NRCERT_EVENT. */
    command?: string[];
    /** NOTIFY_URL: where the event is POSTed as JSON. Secret: a bot URL carries a token. */
    url?: Secret;
  };
  /** METRICS_FILE: Prometheus textfile-collector file written after each run. */
  metricsFile?: string;
  /** What nrcert publishes for the Node-RED editor (src/editor/), and the spool it reads requests from. */
  editor: {
    /** EDITOR_DIR (default CERT_DIR/editor). */
    dir: string;
    /** True when EDITOR_DIR is set: nrcert then creates the folder; the default one is used only once it exists. */
    explicit: boolean;
    /** EDITOR_RENEW_INTERVAL: the least time between two renewals the editor asks for. */
    renewIntervalMs: number;
  };
  logLevel: string;
  /** LOG_FORMAT. */
  logFormat: LogFormat;
  /** FLEET_*: this host is one of a fleet sharing one certificate through etcd (fleet/). */
  fleet?: FleetConfig;
}

/** What the command about to run needs: `renew` needs credentials, `status` does not. */
export type ConfigPurpose = 'renew' | 'status';

/** Where to read from: the process environment, home and working directory, an explicit file. */
export interface ConfigSources {
  env: Record<string, string | undefined>;
  home: string;
  cwd: string;
  envFileFlag?: string;
}

type Env = Record<string, string | undefined>;

/**
 * Reads the dotenv file (--env-file, else NRCERT_ENV_FILE, else ./.env), lets real environment
 * variables win, and validates every setting, throwing one ConfigError listing all problems.
 */
export function loadConfig(sources: ConfigSources, purpose: ConfigPurpose): Config {
  const problems: string[] = [];
  const warnings: string[] = [];
  const { env, envFile } = mergeEnvFile(sources, problems, warnings);
  problems.push(...nulProblems(env));
  const expand = (p: string) => expandPath(p, sources.home, sources.cwd);
  const { names, problems: domainProblems } = parseDomains(env.DOMAINS ?? '');
  // No .env and nothing in the environment: one line saying where nrcert looked, instead of
  // "DOMAINS is empty" and "CLOUDFLARE_API_TOKEN is not set", which are only its consequences.
  const nothingFound = !envFile && !(sources.envFileFlag ?? sources.env.NRCERT_ENV_FILE) &&
    env.DOMAINS === undefined && !Object.values(DNS_PROVIDERS).some((p) => p.credentialsGiven(env));
  if (purpose === 'renew' && nothingFound) problems.push(noSettingsFound(defaultEnvFile(sources.cwd)));
  else if (purpose === 'renew' || env.DOMAINS !== undefined) problems.push(...domainProblems);
  const fleet = readFleet(env, problems, expand);
  // A fleet member never orders: it needs no token (FLEET_ROLE=auto only campaigns when it has one).
  const tokenPurpose: ConfigPurpose = nothingFound || (fleet && fleet.role !== 'issuer') ? 'status' : purpose;
  const config: Config = {
    envFile,
    warnings,
    domains: names,
    acme: readAcme(env, problems),
    dns: readDns({ env, problems, purpose, expand, credentialsOptional: tokenPurpose === 'status' }),
    certDir: expand(env.CERT_DIR || '~/.node-red/certs'),
    stateDir: expand(env.STATE_DIR || defaultStateDir(env, sources.home)),
    certGroup: env.CERT_GROUP || undefined,
    certOwner: env.CERT_OWNER || undefined,
    restart: readRestart(env, problems),
    nodeRed: { ...readNodeRed(env, names, problems), userDir: env.NODE_RED_USER_DIR ? expand(env.NODE_RED_USER_DIR) : undefined },
    service: { schedule: env.RENEW_SCHEDULE?.trim() || undefined, startDelayMs: readSeconds(env, 'RENEW_START_DELAY', 10, problems, true) },
    notify: readNotify(env, problems),
    metricsFile: env.METRICS_FILE ? expand(env.METRICS_FILE) : undefined,
    editor: readEditor(env, expand(env.CERT_DIR || '~/.node-red/certs'), expand, problems),
    logLevel: readLogLevel(env, problems),
    logFormat: readLogFormat(env, problems),
    fleet,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** The dotenv file read when neither --env-file nor NRCERT_ENV_FILE names one. */
export function defaultEnvFile(cwd: string): string {
  return join(cwd, '.env');
}

function noSettingsFound(path: string): string {
  return `no settings found: ${path} does not exist (no --env-file given, NRCERT_ENV_FILE is not set) and neither DOMAINS nor ` +
    `a DNS provider's credential (e.g. CLOUDFLARE_API_TOKEN) is in the environment; run ${nrcertCommand('init')} here to create it, or copy .env.example to it and edit it`;
}

function mergeEnvFile(sources: ConfigSources, problems: string[], warnings: string[]): { env: Env; envFile: string | null } {
  const explicit = sources.envFileFlag ?? sources.env.NRCERT_ENV_FILE;
  const path = explicit ? resolve(sources.cwd, explicit) : defaultEnvFile(sources.cwd);
  if (!existsSync(path)) {
    const target = danglingLinkTarget(path);
    const setting = sources.envFileFlag ? '--env-file: ' : explicit ? 'NRCERT_ENV_FILE: ' : '';
    if (target) problems.push(`${setting}${path} is a symbolic link to ${target}, which does not exist; fix the link or remove it`);
    else if (explicit) problems.push(`${setting}${path} does not exist; create it from .env.example or fix the path`);
    return { env: { ...sources.env }, envFile: null };
  }
  try {
    const file = readEnvFile(path);
    problems.push(...file.problems);
    warnings.push(...file.warnings);
    return { env: { ...file.values, ...definedOnly(sources.env) }, envFile: path };
  } catch (err) {
    problems.push(`${path}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}); check its permissions`);
    return { env: { ...sources.env }, envFile: null };
  }
}

/** A NUL cannot be in a path, an argv or a header: name every setting that has one. */
function nulProblems(env: Env): string[] {
  return (KNOWN_SETTINGS as readonly string[])
    .filter((name) => name !== 'ACME_EMAIL' && env[name]?.includes('\0'))
    .map((name) => `${name}: contains a NUL character; retype the value`);
}

function definedOnly(env: Env): Env {
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined));
}

function defaultStateDir(env: Env, home: string): string {
  return join(env.XDG_STATE_HOME || join(home, '.local', 'state'), 'nrcert');
}

function readAcme(env: Env, problems: string[]): Config['acme'] {
  const directory = env.ACME_DIRECTORY || 'production';
  let directoryUrl: string = directory;
  if (directory in ACME_DIRECTORIES) {
    directoryUrl = ACME_DIRECTORIES[directory as keyof typeof ACME_DIRECTORIES];
  } else if (urlProblem(directory, ['https:'])) {
    problems.push(`ACME_DIRECTORY: "${directory}" is neither production, staging nor an https:// directory URL`);
  }
  const keyType = (env.ACME_KEY_TYPE || 'ecdsa-p256') as KeyType;
  if (!KEY_TYPES.includes(keyType)) {
    problems.push(`ACME_KEY_TYPE: "${env.ACME_KEY_TYPE}" is not one of ${KEY_TYPES.join(', ')}`);
  }
  const email = env.ACME_EMAIL || undefined;
  const badEmail = email && emailProblem(email);
  if (badEmail) problems.push(`ACME_EMAIL: "${printable(email)}" ${badEmail}`);
  const kid = env.ACME_EAB_KID || undefined;
  const hmac = env.ACME_EAB_HMAC_KEY || undefined;
  if (Boolean(kid) !== Boolean(hmac)) {
    problems.push('ACME_EAB_KID and ACME_EAB_HMAC_KEY go together: set both (your CA gives them) or neither');
  }
  const profile = env.ACME_PROFILE?.trim() || undefined;
  if (profile && !/^[a-z0-9._-]+$/i.test(profile)) problems.push(`ACME_PROFILE: "${profile}" is not a profile name (e.g. tlsserver, shortlived)`);
  const timeoutMs = readRequestTimeout(env, 'ACME_TIMEOUT', problems);
  return { directoryUrl, email, keyType, profile, eab: kid && hmac ? { kid, hmacKey: new Secret(hmac) } : undefined, timeoutMs };
}

function readDns(ctx: SettingsContext): Config['dns'] {
  const { env, problems } = ctx;
  const provider = env.DNS_PROVIDER?.trim() || 'cloudflare';
  const entry = DNS_PROVIDERS[provider];
  if (!entry) problems.push(`DNS_PROVIDER: "${printable(provider)}" is not one of ${PROVIDER_NAMES.join(', ')}`);
  const resolvers = env.DNS_RESOLVERS?.split(',').map((s) => s.trim()).filter(Boolean);
  for (const r of resolvers ?? []) {
    const problem = resolverProblem(r);
    if (problem) problems.push(`DNS_RESOLVERS: "${printable(r)}" ${problem}`);
  }
  const timeout = readSeconds(env, 'DNS_PROPAGATION_TIMEOUT', 120, problems);
  const settings = entry?.readSettings(ctx);
  return { provider, settings, resolvers: resolvers?.length ? resolvers : undefined, propagationTimeoutMs: timeout };
}

function readRestart(env: Env, problems: string[]): Config['restart'] {
  const timeoutMs = readSeconds(env, 'RESTART_TIMEOUT', 60, problems);
  const raw = env.RESTART_COMMAND?.trim();
  if (!raw || raw === 'none') return undefined;
  if (raw === 'auto') return { argv: [], auto: true, timeoutMs };
  try {
    return { argv: splitArgv(raw), auto: false, timeoutMs };
  } catch (err) {
    problems.push(`RESTART_COMMAND: ${(err as Error).message}`);
    return undefined;
  }
}

function readNodeRed(env: Env, names: string[], problems: string[]): Config['nodeRed'] {
  const url = env.NODE_RED_URL?.trim() || undefined;
  if (url && urlProblem(url, ['https:'])) {
    problems.push(`NODE_RED_URL: "${url}" is not an https:// URL (e.g. https://127.0.0.1:1880)`);
  }
  const servername = env.NODE_RED_SNI?.trim() || names.find((n) => !n.startsWith('*.')) || names[0]?.replace(/^\*\./, 'www.') || 'localhost';
  return { url, servername, verifyTimeoutMs: readSeconds(env, 'NODE_RED_VERIFY_TIMEOUT', 90, problems) };
}

function readNotify(env: Env, problems: string[]): Config['notify'] {
  const url = env.NOTIFY_URL?.trim() || undefined;
  if (url && urlProblem(url, ['http:', 'https:'])) problems.push('NOTIFY_URL is not an http(s) URL');
  let command: string[] | undefined;
  try {
    command = env.NOTIFY_COMMAND?.trim() ? splitArgv(env.NOTIFY_COMMAND) : undefined;
  } catch (err) {
    problems.push(`NOTIFY_COMMAND: ${(err as Error).message}`);
  }
  return { command, url: url ? new Secret(url) : undefined };
}

/**
 * EDITOR_RENEW_INTERVAL's default, a day: "Renew now" orders a new certificate for the same names
 * every time, and Let's Encrypt allows 5 of those a week (duplicate-certificate limit); a shorter
 * default would let a few clicks block the real renewals for a week.
 */
const EDITOR_RENEW_INTERVAL_DEFAULT_S = 86_400;

function readEditor(env: Env, certDir: string, expand: (p: string) => string, problems: string[]): Config['editor'] {
  const explicit = Boolean(env.EDITOR_DIR?.trim());
  return {
    dir: explicit ? expand(env.EDITOR_DIR!.trim()) : join(certDir, 'editor'),
    explicit,
    renewIntervalMs: readSeconds(env, 'EDITOR_RENEW_INTERVAL', EDITOR_RENEW_INTERVAL_DEFAULT_S, problems, true),
  };
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function readLogLevel(env: Env, problems: string[]): string {
  const level = (env.LOG_LEVEL || 'info').toLowerCase();
  if (!LOG_LEVELS.includes(level)) problems.push(`LOG_LEVEL: "${env.LOG_LEVEL}" is not one of ${LOG_LEVELS.join(', ')}`);
  return level;
}

function readLogFormat(env: Env, problems: string[]): LogFormat {
  const format = (env.LOG_FORMAT || 'auto').trim().toLowerCase();
  if ((LOG_FORMATS as readonly string[]).includes(format)) return format as LogFormat;
  problems.push(`LOG_FORMAT: "${env.LOG_FORMAT}" is not one of ${LOG_FORMATS.join(', ')}`);
  return 'auto';
}

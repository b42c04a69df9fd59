/**
 * DNS_PROVIDER → the provider's folder. Each entry names the settings the provider reads, reads
 * and checks them (in its own folder: lego's NewDefaultConfig), and builds the provider, which is
 * required only then, so a command that never publishes a record never loads a provider's client.
 * Adding a provider is one folder and one entry here; no engine file changes.
 */
import type { SettingsContext } from '../config/provider-settings';
import { skip, type CheckResult } from '../doctor/types';
import { nrcertCommand } from '../util/hint';
import type { Logger } from '../log';
import type { DnsProvider } from './provider';
import { CLOUDFLARE_SETTINGS, readCloudflareSettings, type CloudflareSettings } from './cloudflare/config';
import { DUCKDNS_SETTINGS, readDuckDnsSettings, type DuckDnsSettings } from './duckdns/config';
import { RFC2136_SETTINGS, readRfc2136Settings, type Rfc2136Settings } from './rfc2136/config';

/** What every provider is built with besides its own settings. */
export interface ProviderDeps {
  /** STATE_DIR: where the provider journals the records it publishes (none for a look-up only, as doctor's). */
  stateDir?: string;
  logger: Logger;
  signal?: AbortSignal;
}

/** One DNS_PROVIDER value. */
export interface ProviderEntry<S = unknown> {
  /** The settings it reads (known to the env-file check and to `init`). */
  settings: readonly string[];
  /** Environment variables holding its credentials: no child nrcert starts inherits them. */
  secrets: readonly string[];
  /** Reads and checks its settings; every problem goes onto ctx.problems. */
  readSettings(ctx: SettingsContext): S;
  /** Whether the environment names any credential of it (for "no settings found at all"). */
  credentialsGiven(env: Record<string, string | undefined>): boolean;
  /** Whether the settings as read hold its credentials (a fleet host with them may become the issuer). */
  hasCredentials(settings: S): boolean;
  /** Builds the provider (requires its client code only now). */
  create(settings: S, deps: ProviderDeps): DnsProvider;
  /**
   * `nrcert doctor`'s check of the credentials against the real service (ids `<provider>.<finding>`),
   * for providers other than Cloudflare, whose token check has its own module (doctor/checks/cloudflare.ts).
   */
  check?(settings: S, ctx: { domains: string[]; logger: Logger }): Promise<CheckResult[]>;
}

const cloudflare: ProviderEntry<CloudflareSettings> = {
  settings: CLOUDFLARE_SETTINGS,
  // CLOUDFLARE_API_KEY/EMAIL: the SDK would read them from the environment by itself.
  secrets: ['CLOUDFLARE_API_TOKEN', 'CLOUDFLARE_API_TOKEN_FILE', 'CLOUDFLARE_API_KEY', 'CLOUDFLARE_EMAIL'],
  readSettings: readCloudflareSettings,
  hasCredentials: (s) => s.apiToken !== undefined,
  credentialsGiven: (env) => Boolean(env.CLOUDFLARE_API_TOKEN || env.CLOUDFLARE_API_TOKEN_FILE),
  create(settings, deps) {
    const { CloudflareDnsProvider } = require('./cloudflare/provider') as typeof import('./cloudflare/provider');
    return new CloudflareDnsProvider({ ...settings, apiToken: settings.apiToken!, ...deps });
  },
};

const duckdns: ProviderEntry<DuckDnsSettings> = {
  settings: DUCKDNS_SETTINGS,
  secrets: ['DUCKDNS_TOKEN', 'DUCKDNS_TOKEN_FILE'],
  readSettings: readDuckDnsSettings,
  hasCredentials: (s) => s.token !== undefined,
  credentialsGiven: (env) => Boolean(env.DUCKDNS_TOKEN || env.DUCKDNS_TOKEN_FILE),
  create(settings, deps) {
    const { DuckDnsProvider } = require('./duckdns/provider') as typeof import('./duckdns/provider');
    return new DuckDnsProvider({ ...settings, token: settings.token!, logger: deps.logger, signal: deps.signal });
  },
  // Every DuckDNS call changes the domain (even a clear would break a renewal running now).
  check: async () => [skip('duckdns.token', 'DuckDNS has no read-only call to check DUCKDNS_TOKEN with',
    `${nrcertCommand('renew --dry-run')} checks it: its first request clears the domain's TXT value, before any order`)],
};

/** Every provider, by its DNS_PROVIDER name. */
const rfc2136: ProviderEntry<Rfc2136Settings> = {
  settings: RFC2136_SETTINGS,
  secrets: ['RFC2136_TSIG_SECRET', 'RFC2136_TSIG_SECRET_FILE'],
  readSettings: readRfc2136Settings,
  hasCredentials: (s) => s.secret !== undefined,
  credentialsGiven: (env) => Boolean(env.RFC2136_TSIG_SECRET || env.RFC2136_TSIG_SECRET_FILE),
  create(settings, deps) {
    const { Rfc2136DnsProvider } = require('./rfc2136/provider') as typeof import('./rfc2136/provider');
    return new Rfc2136DnsProvider({ ...settings, secret: settings.secret!, ...deps });
  },
  check(settings, ctx) {
    const { checkRfc2136 } = require('./rfc2136/provider') as typeof import('./rfc2136/provider');
    return checkRfc2136(settings, ctx);
  },
};

/** Every provider, by its DNS_PROVIDER name. */
export const DNS_PROVIDERS: Readonly<Record<string, ProviderEntry<any>>> = { cloudflare, rfc2136, duckdns };

/** The names DNS_PROVIDER accepts. */
export const PROVIDER_NAMES = Object.keys(DNS_PROVIDERS);

/** Every provider's settings, for the list of settings nrcert knows. */
export const PROVIDER_SETTINGS: readonly string[] = Object.values(DNS_PROVIDERS).flatMap((p) => p.settings);

/** Every provider's credential variables (util/command.ts keeps them from children). */
export const PROVIDER_SECRETS: readonly string[] = Object.values(DNS_PROVIDERS).flatMap((p) => p.secrets);

/** Whether the configured provider's settings hold its credentials. */
export function providerHasCredentials(dns: { provider: string; settings: unknown }): boolean {
  const entry = DNS_PROVIDERS[dns.provider];
  return entry !== undefined && entry.hasCredentials(dns.settings);
}

/** Builds the configured provider from `config.dns` (provider name and its settings as read). */
export function createDnsProvider(dns: { provider: string; settings: unknown }, deps: ProviderDeps): DnsProvider {
  const entry = DNS_PROVIDERS[dns.provider];
  if (!entry) throw new Error(`unknown DNS provider ${dns.provider}`);
  return entry.create(dns.settings, deps);
}

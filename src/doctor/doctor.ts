/**
 * `nrcert doctor`: every check of the set-up, each in its own module and each independent (one
 * that fails or crashes never stops the others), run concurrently, reported in a fixed order.
 */
import { dirname } from 'node:path';
import type { Config } from '../config/config';
import { describeError } from '../errors';
import type { Logger } from '../log';
import { checkAcmeAndClock, type ClockCheckDeps } from './checks/clock';
import { checkClients } from './checks/clients';
import { checkCertificate } from './checks/certificate';
import { checkCloudflare, type TokenCheck } from './checks/cloudflare';
import { checkConfig } from './checks/config';
import { checkDns, type DnsCheckDeps } from './checks/dns';
import { checkDelegation, delegationsFor, type DelegationCheckDeps } from './checks/delegation';
import { checkNodeRed } from './checks/nodered';
import { checkPermissions } from './checks/permissions';
import { checkLastRun, checkService, type ServiceCheckDeps } from './checks/service';
import { checkSettingsFiles } from './checks/settings';
import { readInstalled, type InstalledSet } from './installed';
import { auditSecurity, installedDashboard } from './security-audit';
import { probeSettings, type SettingsProbe } from '../nodered/settings-probe';
import { fail, skip, type CheckResult } from './types';
import { createDnsProvider, DNS_PROVIDERS } from '../dns/registry';
import { cloudflareSettings } from '../dns/cloudflare/config';
import type { Delegation } from '../dns/delegation';

/** Everything doctor needs, built by the CLI (tests pass their own). */
export interface DoctorDeps {
  /** Loads the configuration as `renew` would (throws ConfigError). */
  loadConfig: () => Config;
  /** Where settings.js is, given the configuration when it loaded. */
  settingsPath: (config?: Config) => string;
  uid: number;
  home: string;
  logger: Logger;
  now?: () => Date;
  /** Seams for tests; the defaults talk to the real world. */
  tokenCheck?: TokenCheck;
  dns?: DnsCheckDeps;
  /** CNAME lookups and the provider's zone look-up for the delegation check (default: the real DNS and the Cloudflare token). */
  delegation?: DelegationCheckDeps;
  clock?: ClockCheckDeps;
  service?: ServiceCheckDeps;
  /** Environment of the child that loads settings.js (default: this process's). */
  settingsEnv?: NodeJS.ProcessEnv;
}

/** Runs every check and returns the results in checklist order. */
export async function runDoctor(deps: DoctorDeps): Promise<CheckResult[]> {
  const now = deps.now ?? (() => new Date());
  const { config, result: configResult } = checkConfig(deps.loadConfig);
  const installed: Promise<InstalledSet | null> = config ? readInstalled(config.certDir).catch(() => null) : Promise.resolve(null);
  const settingsPath = deps.settingsPath(config);
  const probe: Promise<SettingsProbe> = probeSettings(settingsPath, { env: deps.settingsEnv })
    .catch((err: unknown) => ({ path: settingsPath, found: true, pemFiles: [], error: describeError(err) }));
  // Followed once: the token check tests the names the records really go to.
  const delegations = config ? delegationsFor(config, deps.delegation?.lookup) : undefined;
  delegations?.catch(() => undefined);
  const groups = await Promise.all([
    guard(config?.dns.provider ?? 'cloudflare', () => checkDnsProvider(config, deps, delegations)),
    guard('dns', () => checkDns(config, deps.dns)),
    guard('delegation', () => checkDelegation(config, delegations, { zoneOf: deps.delegation?.zoneOf ?? (config && providerZoneOf(config, deps.logger)) })),
    guard('clock', () => checkAcmeAndClock(config, { now, ...deps.clock })),
    guard('permissions', () => checkPermissions(config, { uid: deps.uid })),
    guard('certificate', async () => checkCertificate(config, await installed, now())),
    guard('settings', async () => checkSettingsFiles(config, await probe, await installed)),
    guard('nodered', async () => checkNodeRed(config, await installed)),
    guard('service', () => checkService({ home: deps.home, ...deps.service })),
    guard('last-run', () => checkLastRun(config, { now, ...deps.service })),
    guard('clients', async () => checkClients(config, await probe, now())),
    guard('security', async () => {
      const p = await probe;
      return auditSecurity(p, { dashboard: await installedDashboard(p.userDir ?? dirname(p.path)) });
    }),
  ]);
  return [configResult, ...groups.flat()];
}

/** The DNS provider's credentials: Cloudflare's token check, or the provider's own check from the registry. */
async function checkDnsProvider(config: Config | undefined, deps: DoctorDeps, delegations: Promise<Delegation[]> | undefined): Promise<CheckResult[]> {
  if (!config || config.dns.provider === 'cloudflare') return checkCloudflare(config, deps.logger, deps.tokenCheck, delegations);
  const entry = DNS_PROVIDERS[config.dns.provider];
  if (!entry?.check) return [skip(config.dns.provider, `nrcert has no credential check for DNS_PROVIDER=${config.dns.provider}`)];
  return entry.check(config.dns.settings, { domains: config.domains, logger: deps.logger });
}

/**
 * The DNS provider's zone look-up (its client loaded on first call only), or undefined when
 * Cloudflare has no token, whose absence the cloudflare check reports.
 */
function providerZoneOf(config: Config, logger: Logger): ((fqdn: string) => Promise<string>) | undefined {
  const cloudflare = cloudflareSettings(config);
  if (cloudflare && !cloudflare.apiToken) return undefined;
  return (fqdn) => createDnsProvider(config.dns, { logger }).zoneOf(fqdn);
}

/** Runs one check; a crash becomes a failed line naming the check, never an aborted doctor. */
async function guard(id: string, check: () => Promise<CheckResult | CheckResult[]> | CheckResult | CheckResult[]): Promise<CheckResult[]> {
  try {
    const result = await check();
    return Array.isArray(result) ? result : [result];
  } catch (err) {
    return [fail(id, `the check itself failed: ${describeError(err).split('\n').join('; ')}`, 'please report this, with the message, as an nrcert bug')];
  }
}

import { configSources, type ParsedArgs } from './args';
import { defaultEnvFile, loadConfig } from '../config/config';
import { readInstalledCertificate, reportedNames } from '../store/pem';
import { nrcertCommand } from '../util/hint';
import { decideRenewal, dueAt } from '../renewal/policy';
import { savedRenewalInfo } from '../renewal/ari-state';
import { fileStateStore } from '../renewal/state';
import { emptyRecord, lineageStates, type LineageState } from '../renewal/lineages';
import { FileCertStore } from '../store/cert-dir';
import { listArchived, readArchived } from '../store/archive';
import { certificateInfo } from '../store/pem';
import type { Config } from '../config/config';

const DAY_MS = 86_400_000;

/**
 * `nrcert status [--json]`: what is installed, when it expires and when it is due. Reads files
 * only — it loads neither the ACME library nor the Cloudflare SDK, and needs no token.
 */
export async function statusCommand(args: ParsedArgs): Promise<number> {
  const sources = configSources(args);
  const config = loadConfig(sources, 'status');
  const installed = await readInstalledCertificate(config.certDir);
  const now = new Date();
  const ari = installed ? await savedRenewalInfo(config, installed.pem) : undefined;
  const certificates = installed
    ? [
        {
          names: reportedNames(installed.pem),
          issuer: installed.info.issuer,
          serial: installed.info.serial,
          fingerprint256: installed.info.fingerprint256,
          notBefore: installed.info.notBefore.toISOString(),
          notAfter: installed.info.notAfter.toISOString(),
          daysLeft: Math.floor((installed.info.notAfter.getTime() - now.getTime()) / DAY_MS),
          dueAt: dueAt(installed.info, ari).toISOString(),
          due: decideRenewal({ installed: installed.info, names: config.domains, now, ari }).due,
          ari: ari ? { windowStart: ari.window.start.toISOString(), windowEnd: ari.window.end.toISOString(), chosenAt: ari.chosenAt?.toISOString() } : undefined,
          files: installed.files,
        },
      ]
    : [];
  const lineages = await lineageList(config);
  if (args.flags.json) {
    process.stdout.write(`${JSON.stringify({ certDir: config.certDir, certificates, lineages }, null, 2)}\n`);
    return 0;
  }
  if (certificates.length === 0) {
    // Nothing configured: renew would only fail on the missing settings, so point at init.
    const unconfigured = config.envFile === null && config.domains.length === 0;
    const next = unconfigured ? ` No settings found (${defaultEnvFile(sources.cwd)} does not exist). Run: ${nrcertCommand('init')}` : ` Run: ${nrcertCommand('renew')}`;
    process.stdout.write(`No certificate is installed in ${config.certDir}.${next}\n`);
    return 0;
  }
  const c = certificates[0];
  const lines = [
    `Certificate in ${config.certDir}`,
    `  Names:        ${c.names.join(', ')}`,
    `  Issuer:       ${c.issuer}`,
    `  Serial:       ${c.serial}`,
    `  SHA-256:      ${c.fingerprint256}`,
    `  Valid from:   ${c.notBefore}`,
    `  Valid until:  ${c.notAfter} (${c.daysLeft} days left)`,
    `  Renewal due:  ${c.dueAt}${c.due ? ` (due now: run ${nrcertCommand('renew')})` : ''}`,
    ...Object.entries(c.files).map(([name, path]) => `  ${`${name}:`.padEnd(13)} ${path}`),
    `  Live:         ${describeLineage(lineages, 'live')}`,
    `  Previous:     ${describeLineage(lineages, 'previous')}${lineages.some((l) => l.state === 'previous') ? ` (${nrcertCommand('rollback')} goes back to it)` : ''}`,
    ...lineages.filter((l) => l.state === 'failed').map((l) => `  Failed:       ${l.id} (Node-RED did not take it; never rolled back to)`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

/** One lineage as `status --json` lists it. */
interface LineageEntry {
  id: string;
  state: LineageState;
  notAfter?: string;
  fingerprint256?: string;
}

/**
 * Every lineage nrcert knows, in CERT_DIR and in STATE_DIR/archive, with what the renewal state
 * says of it. STATE_DIR may be private to the service's user: then the states come from CERT_DIR alone.
 */
async function lineageList(config: Config): Promise<LineageEntry[]> {
  const store = new FileCertStore(config.certDir);
  const inCertDir = await store.lineages().catch(() => [] as string[]);
  const archived = await listArchived(config.stateDir);
  const record = (await fileStateStore(config.stateDir).read().catch(() => null))?.lineages ?? emptyRecord();
  const currentId = (await store.current().catch(() => null))?.id ?? null;
  const ids = [...new Set([...inCertDir, ...archived])].sort();
  // Rollbacks pick among CERT_DIR's lineages; ones only the archive holds are for `rollback --to`.
  const states = lineageStates(record, inCertDir, currentId);
  for (const id of archived) if (!states.has(id)) states.set(id, record.failed.includes(id) ? 'failed' : 'archived');
  const entries: LineageEntry[] = [];
  for (const id of ids) {
    const set = await (inCertDir.includes(id) ? store.read(id) : readArchived(config.stateDir, id)).catch(() => null);
    const info = set ? (() => { try { return certificateInfo(set.cert); } catch { return null; } })() : null;
    entries.push({ id, state: states.get(id)!, notAfter: info?.notAfter.toISOString(), fingerprint256: info?.fingerprint256 });
  }
  return entries;
}

function describeLineage(lineages: LineageEntry[], state: LineageState): string {
  const l = lineages.find((e) => e.state === state);
  if (!l) return state === 'live' ? 'not a lineage of nrcert' : 'none';
  return `${l.id}${l.notAfter ? ` (valid until ${l.notAfter})` : ''}`;
}

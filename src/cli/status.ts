import { configSources, type ParsedArgs } from './args';
import { defaultEnvFile, loadConfig } from '../config/config';
import { nrcertCommand } from '../util/hint';
import type { LineageState } from '../renewal/lineages';
import { statusReport, type LineageEntry } from '../service/status-report';

/**
 * `nrcert status [--json]`: what is installed, when it expires and when it is due. Reads files
 * only — it loads neither the ACME library nor the Cloudflare SDK, and needs no token.
 */
export async function statusCommand(args: ParsedArgs): Promise<number> {
  const sources = configSources(args);
  const config = loadConfig(sources, 'status');
  const report = await statusReport(config);
  const { certificates, lineages } = report;
  if (args.flags.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
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

function describeLineage(lineages: LineageEntry[], state: LineageState): string {
  const l = lineages.find((e) => e.state === state);
  if (!l) return state === 'live' ? 'not a lineage of nrcert' : 'none';
  return `${l.id}${l.notAfter ? ` (valid until ${l.notAfter})` : ''}`;
}

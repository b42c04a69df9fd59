import { configSources, type ParsedArgs } from './args';
import { loadConfig } from '../config/config';
import { readInstalledCertificate } from '../store/pem';
import { decideRenewal, dueAt } from '../renewal/policy';
import { savedAriAdvice } from '../renewal/ari-state';

const DAY_MS = 86_400_000;

/**
 * `nrcert status [--json]`: what is installed, when it expires and when it is due. Reads files
 * only — it loads neither the ACME library nor the Cloudflare SDK, and needs no token.
 */
export async function statusCommand(args: ParsedArgs): Promise<number> {
  const config = loadConfig(configSources(args), 'status');
  const installed = await readInstalledCertificate(config.certDir);
  const now = new Date();
  const ari = installed ? await savedAriAdvice(config, installed.pem) : undefined;
  const certificates = installed
    ? [
        {
          names: installed.info.names,
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
  if (args.flags.json) {
    process.stdout.write(`${JSON.stringify({ certDir: config.certDir, certificates }, null, 2)}\n`);
    return 0;
  }
  if (certificates.length === 0) {
    process.stdout.write(`No certificate is installed in ${config.certDir}. Run: nrcert renew\n`);
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
    `  Renewal due:  ${c.dueAt}${c.due ? ' (due now: run nrcert renew)' : ''}`,
    ...Object.entries(c.files).map(([name, path]) => `  ${`${name}:`.padEnd(13)} ${path}`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

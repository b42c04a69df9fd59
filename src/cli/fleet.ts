/**
 * `nrcert fleet status [--json]`: the fleet as etcd holds it: the issuer, the certificate (version,
 * fingerprint, expiry, who issued it) and every host's last report: current, behind, or gone
 * (its lease ended). Loads the etcd client only here and where a fleet is configured.
 */
import { configSources, type ParsedArgs } from './args';
import { loadConfig } from '../config/config';
import { ConfigError, UsageError } from '../errors';
import { EtcdClient } from '../fleet/etcd';
import { fleetKeys, readStoredSet } from '../fleet/set';
import { readReports } from '../fleet/report';

/** Dispatches `nrcert fleet SUBCOMMAND`. */
export async function fleetCommand(args: ParsedArgs): Promise<number> {
  const [sub, ...extra] = args.positionals;
  if (sub !== 'status' || extra.length > 0) throw new UsageError('usage: nrcert fleet status [--json]');
  const config = loadConfig(configSources(args), 'status');
  if (!config.fleet) throw new ConfigError(['FLEET_ETCD_ENDPOINTS, FLEET_NAME and FLEET_KEY_FILE are not set: this host is not in a fleet (see deploy/README.md, "Fleet")']);
  const fleet = config.fleet;
  const etcd = new EtcdClient(fleet);
  const [issuer, stored, hosts] = await Promise.all([etcd.leader(fleetKeys(fleet.name).election), readStoredSet(etcd, fleet.name), readReports(etcd, fleet)]);
  const certificate = stored && { version: stored.meta.version, fingerprint256: stored.meta.fingerprint256, notAfter: stored.meta.notAfter, issuedBy: stored.meta.issuedBy, at: stored.meta.at };
  const rows = hosts.map((h) => ({
    ...h,
    state: !h.alive ? 'gone' : certificate && h.fingerprint256 === certificate.fingerprint256 ? 'current' : 'behind',
  }));
  if (args.flags.json) {
    process.stdout.write(`${JSON.stringify({ fleet: fleet.name, issuer, certificate, hosts: rows }, null, 2)}\n`);
    return 0;
  }
  const lines = [
    `Fleet ${fleet.name}: issuer ${issuer ?? '(none elected)'}`,
    certificate
      ? `Certificate: version ${certificate.version}, ${certificate.fingerprint256}, valid until ${certificate.notAfter}, issued by ${certificate.issuedBy} at ${certificate.at}`
      : 'Certificate: none published yet',
    ...rows.map((h) => `  ${h.host.padEnd(20)} ${h.state.padEnd(8)} ${h.issuer ? 'issuer ' : ''}${h.outcome}: ${h.message} (reported ${h.at})`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

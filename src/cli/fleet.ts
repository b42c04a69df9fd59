/**
 * The fleet at the command line, required only when it is used: `nrcert fleet status [--json]`
 * (the fleet as etcd holds it: the issuer, the certificate's version, fingerprint, expiry and
 * issuer, every host's last report: current, behind, or gone when its lease ended), and the agent
 * `nrcert run` starts when FLEET_* is set.
 */
import { configSources, type ParsedArgs } from './args';
import { loadConfig } from '../config/config';
import { ConfigError, UsageError } from '../errors';
import { EtcdClient } from '../fleet/etcd';
import { providerHasCredentials } from '../dns/registry';
import { fleetKeys, readReports, readStoredSet } from '../fleet/set';
import type { Config } from '../config/config';
import type { Logger } from '../log';
import { defaultOwnership, resolveOwnership } from '../config/ownership';
import { resolveRestartCommand } from '../nodered/restart';
import { nodeRedActivator } from '../nodered/activate';
import { fileStateStore } from '../renewal/state';
import { FleetAgent } from '../fleet/agent';
import { certStore, etcdTimeoutMs, stateLock } from './renew-deps';
import { writeStatusFiles } from '../service/status-file';

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

/** The agent of this host; `onElected` starts a renewal check when it becomes the issuer. */
export async function fleetAgent(config: Config, logger: Logger, onElected: () => void): Promise<FleetAgent> {
  const fleet = config.fleet!;
  const ownership = await defaultOwnership(config.certDir, resolveOwnership(config.certOwner, config.certGroup));
  const restartArgv = resolveRestartCommand(config.restart, { uid: process.getuid?.() ?? -1 });
  const mayIssue = fleet.role === 'issuer' || (fleet.role === 'auto' && providerHasCredentials(config.dns));
  logger.info({ fleet: fleet.name, host: fleet.host, role: fleet.role, mayIssue }, mayIssue ? 'joining the fleet; may be elected its issuer' : 'joining the fleet as a member (installs what the issuer publishes)');
  return new FleetAgent({
    etcd: new EtcdClient(fleet, etcdTimeoutMs(fleet.leaseTtlSeconds)),
    fleet,
    logger,
    mayIssue,
    onElected,
    install: {
      fleet,
      names: config.domains,
      store: certStore({ config, logger, ownership }),
      lock: stateLock(config.stateDir),
      state: fileStateStore(config.stateDir),
      activator: nodeRedActivator({ config, logger, restartArgv }),
      logger,
      now: () => new Date(),
      writeStatus: (status) => writeStatusFiles({ stateDir: config.stateDir, metricsFile: config.metricsFile }, status),
    },
  });
}

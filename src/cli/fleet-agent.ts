/**
 * Builds the fleet agent for `nrcert run` from the settings: the etcd client, this host's
 * CERT_DIR store, STATE_DIR lock and state, and Node-RED activation (as `renew` builds them).
 * Required only when FLEET_* is set.
 */
import type { Config } from '../config/config';
import type { Logger } from '../log';
import { defaultOwnership, resolveOwnership } from '../config/ownership';
import { resolveRestartCommand } from '../nodered/restart';
import { nodeRedActivator } from '../nodered/activate';
import { fileStateStore } from '../renewal/state';
import { EtcdClient } from '../fleet/etcd';
import { FleetAgent } from '../fleet/agent';
import { certStore, etcdTimeoutMs, stateLock } from './renew-deps';

/** The agent of this host; `onElected` starts a renewal check when it becomes the issuer. */
export async function fleetAgent(config: Config, logger: Logger, onElected: () => void): Promise<FleetAgent> {
  const fleet = config.fleet!;
  const ownership = await defaultOwnership(config.certDir, resolveOwnership(config.certOwner, config.certGroup));
  const restartArgv = resolveRestartCommand(config.restart, { uid: process.getuid?.() ?? -1 });
  const mayIssue = fleet.role === 'issuer' || (fleet.role === 'auto' && config.cloudflare.apiToken !== undefined);
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
    },
  });
}

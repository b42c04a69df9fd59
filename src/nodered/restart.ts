import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/config';
import { ConfigError } from '../errors';

/** Where systemd keeps unit files, system and package ones (the Pi installer uses /lib). */
export const UNIT_DIRS = ['/etc/systemd/system', '/lib/systemd/system', '/usr/lib/systemd/system'];

/**
 * The argv of the restart hook, with RESTART_COMMAND=auto resolved: `systemctl restart nodered`
 * when the Raspberry Pi installer's `nodered.service` exists (through `sudo -n` when not root,
 * matching deploy/sudoers.d/nrcert). Resolved before any ACME order, so a missing unit is a
 * configuration error that changes nothing.
 */
export function resolveRestartCommand(restart: Config['restart'], env: { uid: number; unitDirs?: string[] }): string[] | undefined {
  if (!restart) return undefined;
  if (!restart.auto) return restart.argv;
  const found = (env.unitDirs ?? UNIT_DIRS).some((dir) => existsSync(join(dir, 'nodered.service')));
  if (!found) {
    throw new ConfigError([
      'RESTART_COMMAND=auto: no nodered.service systemd unit was found; set RESTART_COMMAND to the command that restarts ' +
        'Node-RED (e.g. pm2 restart node-red), or to none to rely on httpsRefreshInterval',
    ]);
  }
  const systemctl = ['systemctl', 'restart', 'nodered'];
  return env.uid === 0 ? systemctl : ['sudo', '-n', ...systemctl];
}

/**
 * The service step of `nrcert init`: installs the systemd unit (root with systemd, agreed), or
 * writes it to STATE_DIR and prints the commands.
 */
import type { Config } from '../config/config';
import { join } from 'node:path';
import { writeFileAtomic } from '../store/atomic';
import { ensureStateDir } from '../store/state';
import { installService, serviceUnit, type ServicePaths, type ServiceTarget } from './service';

/** What the service step needs from init. */
export interface ServiceStepDeps {
  envFile: string;
  noService: boolean;
  say: (line: string) => void;
  confirm: (question: string) => Promise<boolean>;
  service: { root: string; node: string; user?: ServicePaths['user']; target?: ServiceTarget };
}

/**
 * Installs the service when root with systemd and agreed; else writes the unit to STATE_DIR (never
 * into the checkout) and prints the commands. A unit that runs as a user has NoNewPrivileges=yes,
 * under which RESTART_COMMAND=auto (sudo) cannot work: then no unit is written, and the fix is said.
 */
export async function offerService(config: Config, deps: ServiceStepDeps): Promise<void> {
  const paths: ServicePaths = { ...deps.service, envFile: deps.envFile, certDir: config.certDir, stateDir: config.stateDir };
  const target = deps.service.target;
  if (deps.service.user && config.restart?.auto) {
    deps.say('No service unit was written: it runs with NoNewPrivileges=yes, where RESTART_COMMAND=auto (sudo) cannot work. ' +
      'Set RESTART_COMMAND=none (Node-RED re-reads the files, httpsRefreshInterval), or allow the restart through polkit (deploy/polkit/) ' +
      'and set RESTART_COMMAND="systemctl restart nodered"; then run nrcert init again.');
    return;
  }
  const unit = await serviceUnit(paths);
  if (target && !deps.noService && (await deps.confirm('Install the nrcert service (systemd), which renews on its own?'))) {
    try {
      const { path, pending } = await installService(unit, paths, target);
      deps.say(`Installed ${path}.${pending.length ? ` Now run: ${pending.join(' && ')}` : ' The service is enabled and running: journalctl -u nrcert -f'}`);
      return;
    } catch (err) {
      deps.say(`Could not install the service: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  ensureStateDir(config.stateDir);
  const local = join(config.stateDir, 'nrcert.service');
  await writeFileAtomic(local, unit, 0o644);
  const sudo = deps.service.user ? 'sudo ' : '';
  deps.say(`To renew on its own, install the service written to ${local}:`);
  deps.say(`  ${sudo}install -m 0644 ${local} /etc/systemd/system/nrcert.service`);
  deps.say(`  ${sudo}systemctl daemon-reload && ${sudo}systemctl enable --now nrcert`);
}

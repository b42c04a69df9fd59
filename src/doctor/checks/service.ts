import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../../config/config';
import type { ServiceStatus } from '../../service/status-file';
import { codeOf, fail, ok, skip, warn, type CheckResult } from '../types';
import { statePath } from '../../store/state-dir';
import { nrcertCommand } from '../../util/hint';

/** The units in deploy/systemd that keep the certificate renewed (use one of them). */
export const SERVICE_UNITS = ['nrcert.service', 'nrcert-renew.timer'];
/** A last run older than this means nothing is running nrcert on schedule. */
export const LAST_RUN_MAX_AGE_MS = 2 * 86_400_000;

/** Where to look: systemd's unit directories (seams for tests). */
export interface ServiceCheckDeps {
  /** Directories whose `*.wants/` hold the enable links (default: /etc/systemd/system and the user's). */
  unitDirs?: string[];
  /** Exists when systemd is the running init (default /run/systemd/system, as sd_booted() checks). */
  systemdRunDir?: string;
  home?: string;
  now?: () => Date;
}

/**
 * Check 9a (`service`): nrcert.service or nrcert-renew.timer is enabled, judged from the enable
 * links in `*.wants/` (no systemctl needed, works without D-Bus). Skipped where systemd is not
 * running (containers), since cron or Docker may run nrcert there.
 */
export async function checkService(deps: ServiceCheckDeps = {}): Promise<CheckResult> {
  const dirs = deps.unitDirs ?? ['/etc/systemd/system', ...(deps.home ? [join(deps.home, '.config', 'systemd', 'user')] : [])];
  const enabled: string[] = [];
  for (const dir of dirs) {
    const wants = (await readdir(dir).catch(() => [] as string[])).filter((name) => name.endsWith('.wants'));
    for (const unit of SERVICE_UNITS) {
      if (!enabled.includes(unit) && wants.some((w) => existsSync(join(dir, w, unit)))) enabled.push(unit);
    }
  }
  const systemd = existsSync(deps.systemdRunDir ?? '/run/systemd/system');
  const install = `sudo systemctl enable --now nrcert (units and set-up: deploy/README.md), or run ${nrcertCommand('renew')} --scheduled from cron`;
  if (enabled.length === 2) {
    return warn('service', 'both nrcert.service and nrcert-renew.timer are enabled: they do the same job', 'sudo systemctl disable --now nrcert-renew.timer (keep one)');
  }
  if (enabled.length === 1) return ok('service', `${enabled[0]} is enabled${systemd ? '' : ' (but systemd is not running here)'}`);
  if (!systemd) {
    return skip('service', `systemd is not running here (a container?): make sure something runs ${nrcertCommand('run')}, or ${nrcertCommand('renew')} --scheduled twice a day`);
  }
  return warn('service', 'neither nrcert.service nor nrcert-renew.timer is enabled: nothing renews the certificate unless cron runs nrcert', install);
}

/**
 * Check 9b (`last-run`): the last renewal check recorded in STATE_DIR/status.json (written by
 * every renew run and by the service) succeeded, and is recent.
 */
export async function checkLastRun(config: Config | undefined, deps: ServiceCheckDeps = {}): Promise<CheckResult> {
  if (!config) return skip('last-run', 'needs a valid configuration (see above)');
  const path = statePath(config.stateDir, 'status');
  let status: ServiceStatus;
  try {
    status = JSON.parse(await readFile(path, 'utf8')) as ServiceStatus;
  } catch (err) {
    if (codeOf(err) === 'ENOENT') return warn('last-run', `no renewal has been recorded yet (${path} does not exist)`, `${nrcertCommand('renew')} (the service and the timer record every run)`);
    return warn('last-run', `cannot read ${path} (${codeOf(err)})`, `run ${nrcertCommand('doctor')} as the user nrcert runs as`);
  }
  const run = status.lastRun;
  if (!run) return warn('last-run', `${path} records no run yet`, nrcertCommand('renew'));
  const age = (deps.now ?? (() => new Date()))().getTime() - Date.parse(run.at);
  const when = `${run.at} (${age < 0 ? 'in the future: check the clock' : `${formatAge(age)} ago`})`;
  if (run.outcome === 'failed' || run.outcome === 'rolled_back') {
    const next = status.nextAttemptAt ? `; next scheduled attempt ${status.nextAttemptAt}` : '';
    return fail('last-run', `the last renewal ${run.outcome === 'failed' ? 'failed' : 'was rolled back'} at ${when}: ${run.message}${next}`,
      `fix the cause above, then ${nrcertCommand('renew')} (journalctl -u nrcert shows the full log)`);
  }
  if (age > LAST_RUN_MAX_AGE_MS) {
    return warn('last-run', `the last renewal check ran at ${when}: nothing seems to run nrcert on schedule`, 'check the service or timer (see the service line), or cron');
  }
  return ok('last-run', `the last renewal check at ${when} succeeded: ${run.message}`);
}

function formatAge(ms: number): string {
  if (ms < 7_200_000) return `${Math.max(1, Math.round(ms / 60_000))} min`;
  if (ms < 172_800_000) return `${Math.round(ms / 3_600_000)} h`;
  return `${Math.round(ms / 86_400_000)} days`;
}

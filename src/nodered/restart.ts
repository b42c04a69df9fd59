import { spawnSync } from 'node:child_process';
import { constants, existsSync, readFileSync } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import type { Config } from '../config/config';
import { ConfigError } from '../errors';
import { nrcertCommand } from '../util/hint';

/** Where systemd keeps unit files, system and package ones (the Pi installer uses /lib). */
export const UNIT_DIRS = ['/etc/systemd/system', '/lib/systemd/system', '/usr/lib/systemd/system'];

/** What resolving `auto` may look at; injectable for tests. */
export interface RestartEnvironment {
  uid: number;
  unitDirs?: string[];
  /** True when this process runs with the no_new_privs flag (NoNewPrivileges=yes): sudo cannot work. */
  noNewPrivs?: () => boolean;
  /** True when `sudo -n` may run `systemctl restart nodered` without a password. */
  sudoAllows?: (argv: string[]) => boolean;
}

/** What to do when sudo cannot restart Node-RED (a function: the hint names nrcert as it runs). */
const sudoFix = (): string =>
  `set RESTART_COMMAND=none and let Node-RED re-read the files (httpsRefreshInterval, see ${nrcertCommand('settings')} --apply), ` +
  'or allow the restart through polkit (deploy/polkit/) and set RESTART_COMMAND="systemctl restart nodered"';

/**
 * The argv of the restart hook, with RESTART_COMMAND=auto resolved: `systemctl restart nodered`
 * when the Raspberry Pi installer's `nodered.service` exists (through `sudo -n` when not root,
 * matching deploy/sudoers.d/nrcert). Resolved before any ACME order, so a missing unit, or a sudo
 * that cannot work (NoNewPrivileges, no sudoers rule), is a configuration error that changes nothing.
 */
export function resolveRestartCommand(restart: Config['restart'], env: RestartEnvironment): string[] | undefined {
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
  if (env.uid === 0) return systemctl;
  if ((env.noNewPrivs ?? hasNoNewPrivs)()) {
    throw new ConfigError([
      `RESTART_COMMAND=auto needs sudo, and sudo cannot work here: this process runs with no_new_privs (NoNewPrivileges=yes, as in nrcert.service); ${sudoFix()}`,
    ]);
  }
  if (!(env.sudoAllows ?? sudoAllows)(systemctl)) {
    throw new ConfigError([
      `RESTART_COMMAND=auto: sudo -n refuses "systemctl restart nodered" for this user (no sudoers rule, see deploy/sudoers.d/nrcert); ${sudoFix()}`,
    ]);
  }
  return ['sudo', '-n', ...systemctl];
}

/** NoNewPrivs from /proc/self/status (Linux); false where it cannot be read. */
function hasNoNewPrivs(): boolean {
  try {
    return /^NoNewPrivs:\s*1$/m.test(readFileSync('/proc/self/status', 'utf8'));
  } catch {
    return false;
  }
}

/** Asks sudo, without running anything or prompting, whether this user may run `argv` (`sudo -n -l`, 10 s at most). */
function sudoAllows(argv: string[]): boolean {
  const result = spawnSync('sudo', ['-n', '-l', ...argv], { stdio: 'ignore', timeout: 10_000 });
  return result.status === 0;
}

/** Where to look for a command's executable: the PATH and working directory the hook will run with. */
export interface ExecutableLookup {
  /** The PATH variable (`:`-separated). */
  searchPath: string;
  cwd: string;
}

/**
 * Why RESTART_COMMAND's executable cannot be run, or null when it can: a name with a slash is a
 * path (relative to `cwd`); a bare name is searched in PATH, as execvp does. Checked before an
 * order, because the hook runs only after a new certificate is installed.
 */
export async function restartExecutableProblem(file: string, lookup: ExecutableLookup): Promise<string | null> {
  if (file.includes('/')) {
    const path = isAbsolute(file) ? file : resolve(lookup.cwd, file);
    const why = await notExecutable(path);
    return why && `RESTART_COMMAND: ${path} ${why}; give the full path of an executable`;
  }
  const dirs = lookup.searchPath.split(delimiter).map((d) => d || lookup.cwd);
  const found: string[] = [];
  for (const dir of dirs) {
    const why = await notExecutable(join(dir, file));
    if (why === null) return null;
    if (why !== 'does not exist') found.push(`${join(dir, file)} ${why}`);
  }
  if (found.length > 0) return `RESTART_COMMAND: "${file}" is in PATH but cannot be run (${found.join('; ')})`;
  return `RESTART_COMMAND: "${file}" is not found in PATH (${lookup.searchPath || 'empty'}); install it or give its full path`;
}

/** Why `path` is not an executable file ("does not exist", "is a directory", …), or null. */
async function notExecutable(path: string): Promise<string | null> {
  try {
    if (!(await stat(path)).isFile()) return 'is not a file';
    await access(path, constants.X_OK);
    return null;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'does not exist';
    if (code === 'EACCES') return 'is not executable (chmod +x it)';
    return `cannot be checked (${code ?? 'error'})`;
  }
}

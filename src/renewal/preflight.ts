/**
 * Checks of the file system made before an ACME order, because an order costs Let's Encrypt
 * budget and a problem found after it wastes one: CERT_DIR and STATE_DIR can be written (not a
 * dangling link, not a file, not read-only, not full), and RESTART_COMMAND can be run. Every
 * problem is collected and thrown as one ConfigError; nothing is changed (the write probe
 * creates one hidden file with O_EXCL and removes it at once).
 */
import { constants } from 'node:fs';
import { lstat, open, readlink, rm, stat, statfs } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Config } from '../config/config';
import { ConfigError } from '../errors';
import { restartExecutableProblem } from '../nodered/restart';
import { tempNameFor } from '../store/atomic';

/** Below this much free space in CERT_DIR or STATE_DIR a renewal is refused before ordering. */
export const MIN_FREE_BYTES = 1024 * 1024;

/** The file-system calls preflight makes; tests replace some (a read-only or full disk as root). */
export interface PreflightFs {
  lstat: typeof lstat;
  stat: typeof stat;
  readlink: (path: string) => Promise<string>;
  /** Creates and removes one probe file in `dir`; throws the system error when it cannot. */
  probeWrite: (dir: string) => Promise<void>;
  statfs: (path: string) => Promise<{ bavail: number; bfree: number; bsize: number }>;
}

/** What preflight needs besides the config; the CLI passes the process's own values. */
export interface PreflightOptions {
  /** A dry run installs nothing: CERT_DIR is not written, so only its path is checked. */
  dryRun?: boolean;
  /** The PATH the restart hook will be run with. */
  searchPath: string;
  cwd: string;
  /** Root may use the blocks reserved for root. */
  uid: number;
  fs?: Partial<PreflightFs>;
}

const realFs: PreflightFs = { lstat, stat, readlink, probeWrite, statfs };

/** Throws one ConfigError listing every problem of CERT_DIR, STATE_DIR and RESTART_COMMAND. */
export async function preflight(
  config: Pick<Config, 'certDir' | 'stateDir' | 'restart'>,
  restartArgv: string[] | undefined,
  opts: PreflightOptions,
): Promise<void> {
  const fs = { ...realFs, ...opts.fs };
  const problems = [
    ...(await directoryProblems('CERT_DIR', config.certDir, !opts.dryRun, fs, opts.uid)),
    ...(await directoryProblems('STATE_DIR', config.stateDir, true, fs, opts.uid)),
  ];
  if (config.restart && !config.restart.auto && restartArgv?.[0]) {
    const problem = await restartExecutableProblem(restartArgv[0], opts);
    if (problem) problems.push(problem);
  }
  if (problems.length > 0) throw new ConfigError(problems);
}

/**
 * What stops nrcert from creating and writing `dir`: it (or, when it does not exist yet, its
 * nearest existing parent, where nrcert will create it) must be a directory reached without a
 * dangling link, and, when `write`, be writable and have MIN_FREE_BYTES free.
 */
async function directoryProblems(setting: string, dir: string, write: boolean, fs: PreflightFs, uid: number): Promise<string[]> {
  const found = await nearestExisting(setting, dir, fs);
  if (typeof found !== 'string') return [found.problem];
  if (!write) return [];
  const where = found === dir ? found : `${found} (where ${dir} will be created)`;
  try {
    await fs.probeWrite(found);
  } catch (err) {
    return [`${setting}: ${where} ${writeFailure(err as NodeJS.ErrnoException, uid)}`];
  }
  const space = await fs.statfs(found).catch(() => null); // some file systems cannot tell: no check
  const free = space ? (uid === 0 ? space.bfree : space.bavail) * space.bsize : Infinity;
  if (free < MIN_FREE_BYTES) {
    return [`${setting}: ${where} has only ${Math.floor(free / 1024)} KiB free; nrcert needs at least ${MIN_FREE_BYTES / 1024} KiB: free some space`];
  }
  return [];
}

/** `dir` or its nearest existing ancestor, or the problem on the way (a dangling link, a file). */
async function nearestExisting(setting: string, dir: string, fs: PreflightFs): Promise<string | { problem: string }> {
  for (let path = dir; ; path = dirname(path)) {
    let isLink: boolean;
    try {
      isLink = (await fs.lstat(path)).isSymbolicLink();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code === 'ENOENT' || code === 'ENOTDIR') && dirname(path) !== path) continue;
      return { problem: `${setting}: cannot look at ${path} (${code ?? 'error'}); check the permissions of the folders above it` };
    }
    try {
      if ((await fs.stat(path)).isDirectory()) return path;
    } catch (err) {
      const target = isLink ? await fs.readlink(path).then((t) => resolve(dirname(path), t), () => '?') : '?';
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'which does not exist (a moved folder or an unmounted disk?)' : `which cannot be reached (${code})`;
      return { problem: `${setting}: ${path} is a symbolic link to ${target}, ${why}; fix the link or change ${setting}` };
    }
    const on = path === dir ? '' : `, on the way to ${dir},`;
    return { problem: `${setting}: ${path}${on} is not a directory; change ${setting} or move that file away` };
  }
}

/** The words for a failed write probe. */
function writeFailure(err: NodeJS.ErrnoException, uid: number): string {
  switch (err.code) {
    case 'EROFS':
      return 'is on a read-only file system; remount it read-write or change the setting';
    case 'EACCES':
    case 'EPERM':
      return `is not writable by this user (uid ${uid}); fix its owner or permissions, or run nrcert as the user who owns it`;
    case 'ENOSPC':
    case 'EDQUOT':
      return 'is full (no space or no free inodes); free some space';
    default:
      return `cannot be written (${err.code ?? err.message})`;
  }
}

/** Creates a hidden probe file with O_EXCL (never through a link) in `dir` and removes it. */
async function probeWrite(dir: string): Promise<void> {
  const probe = tempNameFor(resolve(dir, 'nrcert-preflight'));
  const handle = await open(probe, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
  try {
    await handle.close();
  } finally {
    await rm(probe, { force: true });
  }
}

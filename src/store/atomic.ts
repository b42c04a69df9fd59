/**
 * Durable, atomic file-system steps. A rename within one directory is atomic on POSIX file
 * systems, and fsync of the file and then of its directory makes both the data and the new name
 * survive a power cut (common on a Raspberry Pi pulled from the wall).
 */
import {
  closeSync, constants, fchmodSync, fchownSync, fstatSync, fsyncSync, lstatSync, mkdirSync, openSync, readFileSync,
  renameSync, rmSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { InstallError } from '../errors';
import { closeFd, fchmodFd, fchownFd, fsyncFd, openFd, rename, rm, symlink, writeFd } from '../util/fs-async';

/** Ownership to give a file; undefined parts stay as they are. */
export interface Ownership {
  owner?: number;
  group?: number;
}

/**
 * A hidden, unique name next to `path` for a temporary file or link; see isTempName. 32 bits
 * from Math.random, not node:crypto: the idle service writes its status through here, and
 * loading crypto would keep ≈ 1-2 MB of Node 22/24 resident for it (bench/cli.bench.ts). The name
 * needs to be unique, not secret: every temporary is created exclusively (O_EXCL, or symlink(),
 * which never replaces), so a name that exists already fails the step instead of reusing it.
 */
export function tempNameFor(path: string): string {
  const suffix = Math.floor(Math.random() * 0x1_0000_0000).toString(16).padStart(8, '0');
  return join(dirname(path), `.${basename(path)}.${suffix}.tmp`);
}

/** True for names made by tempNameFor (leftovers of an interrupted run). */
export function isTempName(name: string): boolean {
  return /^\..+\.[0-9a-f]{8}\.tmp$/.test(name);
}

/** Flushes a directory's entries (new, renamed or removed names) to disk. */
export async function fsyncDir(dir: string): Promise<void> {
  const fd = await openFd(dir, 'r');
  try {
    await fsyncFd(fd);
  } catch (err) {
    // Some file systems (and non-Linux platforms) cannot fsync a directory; nothing more to do.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'ENOTSUP' && code !== 'EISDIR') throw err;
  } finally {
    await closeFd(fd);
  }
}

/** Creates a new file (failing if it exists) with exactly `mode`, and fsyncs it. */
export async function writeFileSynced(
  path: string,
  data: string | Uint8Array,
  mode: number,
  ownership: Ownership = {},
): Promise<void> {
  const fd = await openFd(path, 'wx', mode);
  try {
    await fchmodFd(fd, mode); // open's mode is filtered by the umask
    if (ownership.owner !== undefined || ownership.group !== undefined) {
      await fchownFd(fd, ownership.owner ?? -1, ownership.group ?? -1);
    }
    await writeFd(fd, data);
    await fsyncFd(fd);
  } finally {
    await closeFd(fd);
  }
}

/** Replaces `path` with `data` so that readers see the old or the new content, never a part. */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  mode: number,
  ownership: Ownership = {},
): Promise<void> {
  const temp = tempNameFor(path);
  try {
    await writeFileSynced(temp, data, mode, ownership);
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  await fsyncDir(dirname(path));
}

/** Points the symlink `path` at `target` in one step, replacing whatever link or file was there. */
export async function symlinkAtomic(target: string, path: string): Promise<void> {
  const temp = tempNameFor(path);
  try {
    await symlink(target, temp);
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  await fsyncDir(dirname(path));
}

/*
 * Synchronous twins of the steps above, for file work done inside privilege/asUser (which must
 * not await), plus the no-follow steps a root run needs in directories owned by someone else.
 */

/** fsyncDir, synchronously. */
export function fsyncDirSync(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'ENOTSUP' && code !== 'EISDIR') throw err;
  } finally {
    closeSync(fd);
  }
}

/** writeFileSynced, synchronously: O_CREAT|O_EXCL never follows a link at `path`. */
export function writeFileSyncedSync(path: string, data: string | Uint8Array, mode: number, ownership: Ownership = {}): void {
  const fd = openSync(path, 'wx', mode);
  try {
    fchmodSync(fd, mode);
    if (ownership.owner !== undefined || ownership.group !== undefined) {
      fchownSync(fd, ownership.owner ?? -1, ownership.group ?? -1);
    }
    writeFileSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** writeFileAtomic, synchronously: rename replaces a link at `path`, never its target. */
export function writeFileAtomicSync(path: string, data: string | Uint8Array, mode: number, ownership: Ownership = {}): void {
  const temp = tempNameFor(path);
  try {
    writeFileSyncedSync(temp, data, mode, ownership);
    renameSync(temp, path);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
  fsyncDirSync(dirname(path));
}

/** symlinkAtomic, synchronously. */
export function symlinkAtomicSync(target: string, path: string): void {
  const temp = tempNameFor(path);
  try {
    symlinkSync(target, temp);
    renameSync(temp, path);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
  fsyncDirSync(dirname(path));
}

/** The text of the regular file at `path`, opened without following a link there; null when missing. */
export function readRegularFileSync(path: string): string | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ELOOP') throw new InstallError(`${path} is a symlink; nrcert reads only regular files there`);
    throw err;
  }
  try {
    if (!fstatSync(fd).isFile()) throw new InstallError(`${path} is not a regular file; move it away`);
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * Creates the folder `path` if missing (mode `mode`), or checks that it is a real folder, not a
 * link: a folder nrcert keeps (`.nrcert`, `archive`) that someone replaced by a link is refused,
 * so nothing is ever chmodded, written or pruned through it. Returns true when it was created.
 */
export function ensureRealDirSync(path: string, mode: number): boolean {
  try {
    mkdirSync(path, { mode });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const st = lstatSync(path);
  if (st.isSymbolicLink()) {
    throw new InstallError(`${path} is a symlink, not the folder nrcert keeps there; nrcert does not follow it: remove the link and run again`);
  }
  if (!st.isDirectory()) throw new InstallError(`${path} is not a folder; move it away and run again`);
  return false;
}

/** chmod (and chown) of a folder through a descriptor opened without following a link. */
export function setDirModeSync(path: string, mode: number, ownership: Ownership = {}): void {
  const fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    fchmodSync(fd, mode);
    if (ownership.owner !== undefined || ownership.group !== undefined) {
      fchownSync(fd, ownership.owner ?? -1, ownership.group ?? -1);
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Durable, atomic file-system steps. A rename within one directory is atomic on POSIX file
 * systems, and fsync of the file and then of its directory makes both the data and the new name
 * survive a power cut (common on a Raspberry Pi pulled from the wall).
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm, symlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Ownership to give a file; undefined parts stay as they are. */
export interface Ownership {
  owner?: number;
  group?: number;
}

/** A hidden, unique name next to `path` for a temporary file or link; see isTempName. */
export function tempNameFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
}

/** True for names made by tempNameFor (leftovers of an interrupted run). */
export function isTempName(name: string): boolean {
  return /^\..+\.[0-9a-f]{8}\.tmp$/.test(name);
}

/** Flushes a directory's entries (new, renamed or removed names) to disk. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (err) {
    // Some file systems (and non-Linux platforms) cannot fsync a directory; nothing more to do.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'ENOTSUP' && code !== 'EISDIR') throw err;
  } finally {
    await handle.close();
  }
}

/** Creates a new file (failing if it exists) with exactly `mode`, and fsyncs it. */
export async function writeFileSynced(
  path: string,
  data: string | Uint8Array,
  mode: number,
  ownership: Ownership = {},
): Promise<void> {
  const handle = await open(path, 'wx', mode);
  try {
    await handle.chmod(mode); // open's mode is filtered by the umask
    if (ownership.owner !== undefined || ownership.group !== undefined) {
      await handle.chown(ownership.owner ?? -1, ownership.group ?? -1);
    }
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
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

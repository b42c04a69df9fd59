/**
 * EDITOR_DIR/requests, the spool: the one folder Node-RED may write. Node-RED writes
 * `<id>.json.tmp` and renames it to `<id>.json`; nrcert takes each `.json` (read without
 * following a link, at most 4097 bytes, from a descriptor it checked is a regular file) and
 * removes it at once, whatever it holds. `.tmp` files are left to finish unless they are stale;
 * the `.p12` files nrcert leaves for download are removed once they are older than P12_TTL_MS.
 * Anything else is removed as a refused request.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { inEditorFolder, requestsDir, type EditorFolder } from './folder';
import { MAX_REQUEST_BYTES, type RequestFile } from './request';

/** A `.tmp` older than this is an abandoned write: removed. */
export const STALE_TEMP_MS = 10 * 60_000;

/** A client-add's `<id>.p12` not collected within this time is removed. */
export const P12_TTL_MS = 15 * 60_000;

/** What one look at the spool found: request files taken out of it, in name order. */
export interface SpoolScan {
  taken: RequestFile[];
}

/**
 * Takes every finished request out of the spool (read, then removed) and cleans up stale `.tmp`
 * and expired `.p12` files. `now` decides what is stale.
 */
export function takeRequests(folder: EditorFolder, now: number): SpoolScan {
  const dir = requestsDir(folder);
  return inEditorFolder(folder, () => {
    const taken: RequestFile[] = [];
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { taken };
      throw err;
    }
    for (const name of names) {
      const path = join(dir, name);
      if (name.endsWith('.tmp') || name.endsWith('.p12')) {
        const st = lstatSync(path, { throwIfNoEntry: false });
        const ttl = name.endsWith('.tmp') ? STALE_TEMP_MS : P12_TTL_MS;
        if (st && (st.isSymbolicLink() || !st.isFile() || now - st.mtimeMs > ttl)) removeQuietly(path);
        continue;
      }
      const file = readOne(path, name);
      removeQuietly(path);
      if (file) taken.push(file);
    }
    return { taken };
  });
}

/** Reads one spool entry without following a link; null when it vanished meanwhile. */
function readOne(path: string, name: string): RequestFile | null {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (!st) return null;
  if (st.isSymbolicLink()) return { name, kind: 'link', size: st.size };
  if (!st.isFile()) return { name, kind: 'other', size: st.size };
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO swapped in after the lstat cannot hang the service on open.
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ELOOP') return { name, kind: 'link', size: 0 };
    return { name, kind: 'file', size: st.size };
  }
  try {
    const fst = fstatSync(fd);
    if (!fst.isFile()) return { name, kind: 'other', size: fst.size };
    if (fst.size > MAX_REQUEST_BYTES) return { name, kind: 'file', size: fst.size, links: fst.nlink };
    const buffer = Buffer.alloc(MAX_REQUEST_BYTES + 1);
    let length = 0;
    for (let n = 1; n > 0 && length < buffer.length; length += n) n = readSync(fd, buffer, length, buffer.length - length, null);
    return { name, kind: 'file', size: Math.max(fst.size, length), bytes: buffer.subarray(0, length), links: fst.nlink };
  } finally {
    closeSync(fd);
  }
}

/** Request names waiting in the spool (finished `.json` files and anything unexpected), without taking them. */
export function pendingNames(folder: EditorFolder): string[] {
  try {
    return inEditorFolder(folder, () => readdirSync(requestsDir(folder)).filter((n) => !n.endsWith('.tmp') && !n.endsWith('.p12')));
  } catch {
    return [];
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // gone already, or not ours to remove: the next scan tries again
  }
}

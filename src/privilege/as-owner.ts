/**
 * Run as root, nrcert does its file work inside a directory with the credentials of that
 * directory's owner, so the kernel itself refuses what that owner could not do: following a link
 * they planted to a root-only file, chmod/chown of a root-owned folder, deleting outside their
 * own files. This is the classic temporary-privilege-drop of daemons (OpenSSH, Postfix):
 * setgroups + setegid + seteuid, the real and saved uid stay 0, so root comes back afterwards.
 *
 * The work must be synchronous: the effective ids belong to the whole process, so no other
 * JavaScript may run while they are changed (an `await` inside would let unrelated code run as
 * the directory's owner, or let two owners overlap). asOwner refuses a function returning a
 * promise. Run as any other user, nothing changes: the kernel already checks as that user.
 */
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { byId } from './users';

/** Whose credentials to do file work with. */
export interface Identity {
  uid: number;
  gid: number;
  /** Supplementary groups while acting (default: only `gid`). */
  groups?: number[];
}

/** True when this process runs as root and so must act as the owner of others' directories. */
export function runningAsRoot(): boolean {
  return process.getuid?.() === 0;
}

/**
 * The owner of `path`, or of its nearest existing ancestor when it does not exist yet (a folder
 * root creates belongs to the owner of the folder it sits in). The group is that user's primary
 * group from /etc/passwd, else the folder's group.
 */
export function ownerOf(path: string): Identity {
  let current = resolve(path);
  for (;;) {
    try {
      const st = statSync(current);
      return { uid: st.uid, gid: byId('user', st.uid)?.gid ?? st.gid };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || dirname(current) === current) throw err;
      current = dirname(current);
    }
  }
}

/** Any value but a promise: the work inside asUser must be synchronous. */
export type NotPromise<T> = T extends PromiseLike<unknown> ? never : T;

/**
 * Runs `work` with `who`'s uid, gid and groups (default: only that gid); as root only, and only
 * when `who` is not root. Nested calls for the same identity run directly.
 */
export function asUser<T>(who: Identity, work: () => NotPromise<T>): T {
  if (!runningAsRoot() || who.uid === 0) return checked(work());
  const euid = process.geteuid!();
  if (euid !== 0) {
    if (euid === who.uid && process.getegid!() === who.gid) return checked(work());
    throw new Error(`asUser: already acting as uid ${euid}, cannot act as uid ${who.uid} inside`);
  }
  const egid = process.getegid!();
  const groups = process.getgroups!();
  process.setgroups!(who.groups ?? [who.gid]);
  process.setegid!(who.gid);
  process.seteuid!(who.uid);
  try {
    return checked(work());
  } finally {
    process.seteuid!(0);
    process.setegid!(egid);
    process.setgroups!(groups);
  }
}

/** Runs `work` as the owner of `path` (see ownerOf) when root; directly otherwise. */
export function asOwnerOf<T>(path: string, work: () => NotPromise<T>): T {
  return runningAsRoot() ? asUser(ownerOf(path), work) : checked(work());
}

function checked<T>(result: T): T {
  if (result && typeof (result as { then?: unknown }).then === 'function') {
    throw new TypeError('asUser needs synchronous work: credentials are process-wide');
  }
  return result;
}

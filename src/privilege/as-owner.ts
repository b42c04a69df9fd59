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
 * promise. glibc applies seteuid to every thread, so an asynchronous fs call started earlier and
 * still running in libuv's pool runs those moments with the owner's rights: it can fail, never
 * gain. Run as any other user, nothing changes: the kernel already checks as that user.
 */
import { lstatSync, readlinkSync, statSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
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
 * Whose directory `path` is, for a root run: the owner of `path` or, when it does not exist yet,
 * of its nearest existing ancestor (a folder root creates belongs to the owner of the folder it
 * sits in). A root-owned folder reached through a folder (or a link in a folder) someone else
 * owns counts as theirs: they could have swapped it, so root must not act as itself there.
 * The group is that user's primary group from /etc/passwd, else the folder's group.
 */
export function ownerOf(path: string): Identity {
  const { controller } = walk(resolve(path));
  const owner = controller ?? { uid: 0, gid: 0 };
  return { uid: owner.uid, gid: byId('user', owner.uid)?.gid ?? owner.gid };
}

/**
 * Walks `absolute` from `/` as open() would (links followed, up to the nearest existing folder):
 * the owner of where it ends when not root, else the deepest non-root owner of a folder passed.
 */
function walk(absolute: string): { controller?: { uid: number; gid: number } } {
  let pending = parts(absolute);
  let folder = '/';
  let final = statSync('/');
  let controller: { uid: number; gid: number } | undefined;
  for (let hops = 0; pending.length > 0; ) {
    const next = join(folder, pending.shift() as string);
    const st = lstatSync(next, { throwIfNoEntry: false });
    if (!st) break; // the rest will be created
    if (st.isSymbolicLink()) {
      if (++hops > 40) throw Object.assign(new Error(`too many links in ${absolute}`), { code: 'ELOOP' });
      pending = [...parts(resolve(folder, readlinkSync(next))), ...pending];
      folder = '/';
      continue;
    }
    if (final.uid !== 0) controller = final;
    final = st;
    folder = next;
    if (!st.isDirectory()) break;
  }
  if (final.uid !== 0) controller = final;
  return { controller };
}

function parts(absolute: string): string[] {
  return absolute.split(sep).filter(Boolean);
}

/** Any value but a promise: the work inside asUser must be synchronous. */
export type NotPromise<T> = T extends PromiseLike<unknown> ? never : T;

/**
 * Runs `work` with `who`'s uid, gid and groups (default: only that gid); as root only, and only
 * when `who` is not root. Nested calls for the same identity run directly.
 */
export function asUser<T>(who: Identity, work: () => NotPromise<T>): T {
  if (!runningAsRoot() || who.uid === 0) return checked(work());
  if (typeof process.seteuid !== 'function') {
    throw new Error('asUser: this thread cannot change credentials (a worker thread?); do file work on the main thread');
  }
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

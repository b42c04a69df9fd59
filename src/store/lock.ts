/**
 * One nrcert run at a time (timer, manual `nrcert renew`, container): a lock file created with
 * O_EXCL holding who took it. A lock whose process is gone is stale and taken over silently.
 */
import { mkdir, open, readFile, rm, stat, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { LockedError } from '../errors';
import { ownerOf, runningAsRoot } from '../privilege/as-owner';

/** What the lock file says about its holder. */
export interface LockHolder {
  pid: number;
  hostname: string;
  startedAt: string;
  command?: string;
}

/** Releases the lock (only if it is still ours); `recoveredStale` tells a stale lock was removed. */
export interface LockRelease {
  (): Promise<void>;
  readonly recoveredStale: boolean;
}

/** Optional details for acquireLock. */
export interface LockOptions {
  /** The command taking the lock, shown to a run that finds it held. */
  command?: string;
  /** Age after which an unreadable lock file counts as stale (default 1 minute). */
  unparseableStaleMs?: number;
  /** Age after which a lock from another host (an old container) counts as stale (default 1 hour). */
  foreignHostStaleMs?: number;
}

type Verdict = { kind: 'gone' } | { kind: 'stale'; content: string } | { kind: 'held'; message: string };

/** Takes the lock at `path` or throws LockedError naming the run that holds it. */
export async function acquireLock(path: string, info: LockOptions = {}): Promise<LockRelease> {
  const ours: LockHolder = {
    pid: process.pid,
    hostname: hostname(),
    startedAt: new Date().toISOString(),
    ...(info.command !== undefined ? { command: info.command } : {}),
  };
  const text = `${JSON.stringify(ours)}\n`;
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  let recoveredStale = false;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await tryCreate(path, text)) {
      return Object.assign(() => releaseIfOurs(path, ours), { recoveredStale });
    }
    const verdict = await inspect(path, info);
    if (verdict.kind === 'held') throw new LockedError(verdict.message);
    if (verdict.kind === 'stale') {
      await removeIfUnchanged(path, verdict.content);
      recoveredStale = true;
    }
  }
  throw new LockedError(`could not take the lock at ${path}: other nrcert runs keep taking it; try again`);
}

async function tryCreate(path: string, text: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    await giveToFolderOwner(handle, dirname(path));
    await handle.writeFile(text);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await rm(path, { force: true });
    throw err;
  }
  await handle.close();
  return true;
}

/**
 * Run as root, the lock file (which a killed run leaves behind) belongs to STATE_DIR's owner, so a
 * service running as that user can read it. Through the descriptor just created: no link followed.
 */
async function giveToFolderOwner(handle: FileHandle, dir: string): Promise<void> {
  if (!runningAsRoot()) return;
  const owner = ownerOf(dir);
  if (owner.uid !== 0) await handle.chown(owner.uid, owner.gid);
}

async function inspect(path: string, opts: LockOptions): Promise<Verdict> {
  let content: string;
  let mtimeMs: number;
  try {
    content = await readFile(path, 'utf8');
    mtimeMs = (await stat(path)).mtimeMs;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'gone' };
    throw err;
  }
  const holder = parseHolder(content);
  if (!holder) {
    // Just created by a run that has not written its details yet, or damaged long ago.
    if (Date.now() - mtimeMs > (opts.unparseableStaleMs ?? 60_000)) return { kind: 'stale', content };
    const message = `another nrcert run is starting and holds the lock at ${path}; wait for it to finish`;
    return { kind: 'held', message };
  }
  const who = `pid ${holder.pid}${holder.command ? `, ${holder.command}` : ''}, started ${holder.startedAt}`;
  if (holder.hostname !== hostname()) {
    // Its pid means nothing here: trust it for a while, then assume that host (container) is gone.
    const age = Date.now() - Date.parse(holder.startedAt);
    if (!(age <= (opts.foreignHostStaleMs ?? 3_600_000))) return { kind: 'stale', content };
    return {
      kind: 'held',
      message:
        `another nrcert run (${who} on host ${holder.hostname}) holds the lock at ${path}; ` +
        'wait for it to finish',
    };
  }
  if (!isAlive(holder.pid)) return { kind: 'stale', content };
  const message = `another nrcert run (${who}) holds the lock at ${path}; wait for it to finish`;
  return { kind: 'held', message };
}

function parseHolder(content: string): LockHolder | null {
  try {
    const value = JSON.parse(content) as Partial<LockHolder> | null;
    if (!value || !Number.isInteger(value.pid) || typeof value.hostname !== 'string') return null;
    if (typeof value.startedAt !== 'string') return null;
    return value as LockHolder;
  } catch {
    return null;
  }
}

/** True when a process with this pid exists on this host (EPERM: it exists but is not ours). */
function isAlive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes a stale lock unless another run replaced it since we looked (narrows that race). */
async function removeIfUnchanged(path: string, content: string): Promise<void> {
  const now = await readFile(path, 'utf8').catch(() => null);
  if (now === content) await rm(path, { force: true });
}

async function releaseIfOurs(path: string, ours: LockHolder): Promise<void> {
  const content = await readFile(path, 'utf8').catch(() => null);
  const holder = content === null ? null : parseHolder(content);
  const same =
    holder?.pid === ours.pid && holder.startedAt === ours.startedAt && holder.hostname === ours.hostname;
  if (same) await rm(path, { force: true });
}

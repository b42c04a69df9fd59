/**
 * One nrcert run at a time (timer, manual `nrcert renew`, container): a lock file created with
 * O_EXCL holding who took it. A lock whose process is gone is stale and taken over silently.
 *
 * A pid alone is not a process: after a reboot (or a long uptime) another process may carry the
 * recorded pid, and a lock left by a SIGKILL or a power cut would then block renewals for good.
 * So the lock also records the kernel's boot id and the holder's start time (field 22 of
 * /proc/<pid>/stat, clock ticks since boot): a lock from another boot, or whose pid now belongs
 * to a process that started at another time, is stale. Lock files without them (older nrcert)
 * are judged by the pid alone, as before.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { LockedError } from '../errors';
import { ownerOf, runningAsRoot } from '../privilege/as-owner';
import { closeFd, fchownFd, fsyncFd, mkdir, openFd, readFile, rm, stat, writeFd } from '../util/fs-async';
import { isoTime } from '../util/iso-time';

/** What the lock file says about its holder. */
export interface LockHolder {
  pid: number;
  hostname: string;
  startedAt: string;
  command?: string;
  /** /proc/sys/kernel/random/boot_id when the lock was taken. */
  bootId?: string;
  /** The holder's start time in clock ticks since boot (field 22 of /proc/<pid>/stat). */
  startTicks?: number;
}

/** What the lock asks the system about processes; null where it cannot tell. */
export interface ProcessProbe {
  /** This boot's id. */
  bootId(): string | null;
  /** When `pid` started, in clock ticks since boot; null when unknown (gone, or /proc hidden). */
  startTicks(pid: number): number | null;
  /** True when a process with this pid exists on this host. */
  alive(pid: number): boolean;
}

/** The probe reading Linux's /proc (elsewhere the boot id and start times are unknown). */
export const procProbe: ProcessProbe = {
  bootId: () => readProc('/proc/sys/kernel/random/boot_id')?.trim() || null,
  startTicks(pid) {
    const text = readProc(`/proc/${pid}/stat`);
    if (!text) return null;
    // `pid (comm) state ppid …`: comm may hold spaces and parentheses, so count from the last ')'.
    const ticks = Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[19]);
    return Number.isSafeInteger(ticks) ? ticks : null;
  },
  alive: isAlive,
};

function readProc(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
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
  /** What the refused run should do, ending the message (default: wait for it to finish). */
  whenHeld?: string;
  /** How to learn about processes (default: /proc). */
  probe?: ProcessProbe;
}

type Verdict = { kind: 'gone' } | { kind: 'stale'; content: string } | { kind: 'held'; message: string };

/** Takes the lock at `path` or throws LockedError naming the run that holds it. */
export async function acquireLock(path: string, info: LockOptions = {}): Promise<LockRelease> {
  const probe = info.probe ?? procProbe;
  const bootId = probe.bootId();
  const startTicks = probe.startTicks(process.pid);
  const ours: LockHolder = {
    pid: process.pid,
    hostname: hostname(),
    startedAt: isoTime(new Date()), // the service holds its lock for good: no V8 Date formatting (util/iso-time.ts)
    ...(info.command !== undefined ? { command: info.command } : {}),
    ...(bootId !== null ? { bootId } : {}),
    ...(startTicks !== null ? { startTicks } : {}),
  };
  const text = `${JSON.stringify(ours)}\n`;
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  let recoveredStale = false;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await tryCreate(path, text)) {
      return Object.assign(() => releaseIfOurs(path, ours), { recoveredStale });
    }
    const verdict = await inspect(path, info, probe);
    if (verdict.kind === 'held') throw new LockedError(verdict.message);
    if (verdict.kind === 'stale') {
      await removeIfUnchanged(path, verdict.content);
      recoveredStale = true;
    }
  }
  throw new LockedError(`could not take the lock at ${path}: other nrcert runs keep taking it; try again`);
}

async function tryCreate(path: string, text: string): Promise<boolean> {
  let fd: number;
  try {
    fd = await openFd(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    await giveToFolderOwner(fd, dirname(path));
    await writeFd(fd, text);
    await fsyncFd(fd);
  } catch (err) {
    await closeFd(fd);
    await rm(path, { force: true });
    throw err;
  }
  await closeFd(fd);
  return true;
}

/**
 * Run as root, the lock file (which a killed run leaves behind) belongs to STATE_DIR's owner, so a
 * service running as that user can read it. Through the descriptor just created: no link followed.
 */
async function giveToFolderOwner(fd: number, dir: string): Promise<void> {
  if (!runningAsRoot()) return;
  const owner = ownerOf(dir);
  if (owner.uid !== 0) await fchownFd(fd, owner.uid, owner.gid);
}

async function inspect(path: string, opts: LockOptions, probe: ProcessProbe): Promise<Verdict> {
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
    const message = `another nrcert run is starting and holds the lock at ${path}; ${opts.whenHeld ?? WAIT}`;
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
        `another nrcert run (${who} on host ${holder.hostname}) holds the lock at ${path}; ${opts.whenHeld ?? WAIT}`,
    };
  }
  if (!holderRuns(holder, probe)) return { kind: 'stale', content };
  const message = `another nrcert run (${who}) holds the lock at ${path}; ${opts.whenHeld ?? WAIT}`;
  return { kind: 'held', message };
}

const WAIT = 'wait for it to finish';

/**
 * True when the process that took the lock on this host still runs: same boot, pid alive, and
 * (when recorded and readable) the same start time. What cannot be read counts as running.
 */
function holderRuns(holder: LockHolder, probe: ProcessProbe): boolean {
  const bootNow = holder.bootId === undefined ? null : probe.bootId();
  if (bootNow !== null && bootNow !== holder.bootId) return false;
  if (!probe.alive(holder.pid)) return false;
  const ticksNow = holder.startTicks === undefined ? null : probe.startTicks(holder.pid);
  return ticksNow === null || ticksNow === holder.startTicks;
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

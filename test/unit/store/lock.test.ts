import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { LockedError } from '../../../src/errors';
import { acquireLock, type ProcessProbe } from '../../../src/store/lock';
import { makeTempDir, removeTempDir } from './pki';

let tmp: string;
let lockPath: string;
beforeEach(() => {
  tmp = makeTempDir();
  lockPath = join(tmp, 'state', 'nrcert.lock');
});
afterEach(() => removeTempDir(tmp));

/** The pid of a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid as number;
}

function currentBootId(): string {
  return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
}

/** Field 22 of /proc/self/stat: when this process started, in clock ticks since boot. */
function ownStartTicks(): number {
  const stat = readFileSync(`/proc/${process.pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
}

function writeLock(content: object | string, ageMs = 0): void {
  mkdirSync(dirname(lockPath), { recursive: true });
  writeFileSync(lockPath, typeof content === 'string' ? content : JSON.stringify(content));
  const when = new Date(Date.now() - ageMs);
  utimesSync(lockPath, when, when);
}

describe('acquireLock', () => {
  it('writes who holds it, refuses a second run, and frees it on release', async () => {
    const release = await acquireLock(lockPath, { command: 'renew' });
    expect(release.recoveredStale).toBe(false);
    const holder = JSON.parse(readFileSync(lockPath, 'utf8'));
    expect(holder).toMatchObject({ pid: process.pid, hostname: hostname(), command: 'renew' });
    expect(Date.parse(holder.startedAt)).toBeGreaterThan(Date.now() - 10_000);

    const second = acquireLock(lockPath);
    await expect(second).rejects.toThrow(LockedError);
    await expect(acquireLock(lockPath)).rejects.toThrow(
      `another nrcert run (pid ${process.pid}, renew, started ${holder.startedAt}) holds the lock at ${lockPath}; wait for it to finish`,
    );

    await release();
    expect(existsSync(lockPath)).toBe(false);
    const again = await acquireLock(lockPath);
    await again();
  });

  it('refuses while another live process on this host holds it', async () => {
    const child: ChildProcess = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    try {
      await new Promise((resolve) => child.on('spawn', resolve));
      writeLock({ pid: child.pid, hostname: hostname(), startedAt: new Date().toISOString() });
      await expect(acquireLock(lockPath)).rejects.toThrow(`another nrcert run (pid ${child.pid}, started`);
    } finally {
      child.kill();
    }
  });

  it('takes over a lock whose process is dead, silently', async () => {
    const pid = await deadPid();
    writeLock({ pid, hostname: hostname(), startedAt: new Date().toISOString() });
    const release = await acquireLock(lockPath);
    expect(release.recoveredStale).toBe(true);
    expect(JSON.parse(readFileSync(lockPath, 'utf8')).pid).toBe(process.pid);
    await release();
    expect(existsSync(lockPath)).toBe(false);
  });

  it('treats an unreadable lock as held while fresh and as stale after a minute', async () => {
    writeLock('{"pid": 12');
    await expect(acquireLock(lockPath)).rejects.toThrow(`another nrcert run is starting and holds the lock at ${lockPath}`);
    writeLock('{"pid": 12', 61_000);
    const release = await acquireLock(lockPath);
    expect(release.recoveredStale).toBe(true);
    await release();
  });

  it('trusts a lock from another host for an hour, then takes it over', async () => {
    const recent = new Date(Date.now() - 60_000).toISOString();
    writeLock({ pid: process.pid, hostname: 'other-container', startedAt: recent });
    await expect(acquireLock(lockPath)).rejects.toThrow('on host other-container) holds the lock');
    const old = new Date(Date.now() - 2 * 3_600_000).toISOString();
    writeLock({ pid: process.pid, hostname: 'other-container', startedAt: old });
    const release = await acquireLock(lockPath);
    expect(release.recoveredStale).toBe(true);
    await release();
  });

  it('records the boot id and the start time of the holding process', async () => {
    const release = await acquireLock(lockPath);
    const holder = JSON.parse(readFileSync(lockPath, 'utf8'));
    expect(holder.bootId).toBe(readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
    expect(holder.startTicks).toBe(ownStartTicks());
    await release();
  });

  it('takes over a lock from an earlier boot even when its pid is alive now (a pid reused after a reboot)', async () => {
    writeLock({ pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString(), bootId: 'a-boot-long-ago', startTicks: ownStartTicks() });
    const release = await acquireLock(lockPath);
    expect(release.recoveredStale).toBe(true);
    await release();
  });

  it('takes over a lock whose pid now belongs to a process that started at another time', async () => {
    writeLock({ pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString(), bootId: currentBootId(), startTicks: ownStartTicks() + 1 });
    const release = await acquireLock(lockPath);
    expect(release.recoveredStale).toBe(true);
    await release();
  });

  it('refuses while the recorded process (same boot, same start time) still runs', async () => {
    writeLock({ pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString(), bootId: currentBootId(), startTicks: ownStartTicks() });
    await expect(acquireLock(lockPath)).rejects.toThrow(`another nrcert run (pid ${process.pid}, started`);
  });

  it('decides with the process facts it is given: unknown start time or boot id counts as alive', async () => {
    const probe = (facts: Partial<ProcessProbe>): ProcessProbe => ({ bootId: () => 'boot-1', startTicks: () => 100, alive: () => true, ...facts });
    writeLock({ pid: 4242, hostname: hostname(), startedAt: new Date().toISOString(), bootId: 'boot-1', startTicks: 100 });
    await expect(acquireLock(lockPath, { probe: probe({}) })).rejects.toThrow(LockedError);
    // /proc hidden (ProtectProc=invisible for another user's process): the pid is alive, trust the lock.
    await expect(acquireLock(lockPath, { probe: probe({ startTicks: () => null }) })).rejects.toThrow(LockedError);
    await expect(acquireLock(lockPath, { probe: probe({ bootId: () => null }) })).rejects.toThrow(LockedError);
    const release = await acquireLock(lockPath, { probe: probe({ bootId: () => 'boot-2' }) });
    expect(release.recoveredStale).toBe(true);
    await release();
  });

  it('keeps honouring an old lock file without boot id and start time', async () => {
    writeLock({ pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString() });
    await expect(acquireLock(lockPath)).rejects.toThrow(LockedError);
  });

  it('names the hint a caller gives for a held lock', async () => {
    const release = await acquireLock(lockPath, { command: 'run' });
    await expect(acquireLock(lockPath, { whenHeld: 'stop that one first' })).rejects.toThrow(/\(pid \d+, run, started [^)]+\) holds the lock at .*; stop that one first$/);
    await release();
  });

  it('release leaves a lock that another run has taken since', async () => {
    const release = await acquireLock(lockPath);
    const other = { pid: process.pid + 1, hostname: hostname(), startedAt: new Date().toISOString() };
    writeLock(other);
    await release();
    expect(JSON.parse(readFileSync(lockPath, 'utf8'))).toEqual(other);
  });
});

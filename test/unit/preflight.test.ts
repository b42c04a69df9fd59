import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/errors';
import { preflight, type PreflightFs, type PreflightOptions } from '../../src/renewal/preflight';

let dir: string;
let bin: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nrcert-preflight-'));
  bin = join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'restart-nodered'), '#!/bin/sh\n', { mode: 0o755 });
  writeFileSync(join(bin, 'not-executable'), '#!/bin/sh\n', { mode: 0o644 });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const UID = process.getuid?.() ?? 1000;

function options(more: Partial<PreflightOptions> = {}): PreflightOptions {
  return { searchPath: `${join(dir, 'nothing-here')}:${bin}`, cwd: dir, uid: UID, ...more };
}

function config(more: { certDir?: string; stateDir?: string; restart?: string[] } = {}) {
  return {
    certDir: more.certDir ?? join(dir, 'certs'),
    stateDir: more.stateDir ?? join(dir, 'state'),
    restart: more.restart ? { argv: more.restart, auto: false, timeoutMs: 60_000 } : undefined,
  };
}

/** The problems preflight reports, or [] when it passes. */
async function problemsOf(c: ReturnType<typeof config>, opts: PreflightOptions = options()): Promise<string[]> {
  try {
    await preflight(c, c.restart?.argv, opts);
    return [];
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
}

/** A file system that fails every write probe with `code` (as a read-only or full disk does, even for root). */
function failingWrites(code: string): Partial<PreflightFs> {
  return { probeWrite: async () => { throw Object.assign(new Error(code), { code }); } };
}

describe('preflight', () => {
  it('passes existing directories, ones not created yet, and an executable restart command found in PATH or by path', async () => {
    mkdirSync(join(dir, 'certs'));
    expect(await problemsOf(config({ restart: ['restart-nodered', '--now'] }))).toEqual([]);
    expect(await problemsOf(config({ stateDir: join(dir, 'var', 'lib', 'nrcert'), restart: [join(bin, 'restart-nodered')] }))).toEqual([]);
    expect(await problemsOf(config({ restart: ['./bin/restart-nodered'] }))).toEqual([]);
    // The write probe leaves nothing behind.
    expect(readdirSync(dir).sort()).toEqual(['bin', 'certs']);
    expect(readdirSync(join(dir, 'certs'))).toEqual([]);
  });

  it('names a CERT_DIR that is a link to nothing, with the target', async () => {
    symlinkSync(join(dir, 'usb', 'certs'), join(dir, 'certs'));
    expect(await problemsOf(config())).toEqual([
      `CERT_DIR: ${join(dir, 'certs')} is a symbolic link to ${join(dir, 'usb', 'certs')}, which does not exist (a moved folder or an unmounted disk?); fix the link or change CERT_DIR`,
    ]);
  });

  it('finds a dangling link or a file above a directory that does not exist yet', async () => {
    symlinkSync(join(dir, 'gone'), join(dir, 'var'));
    writeFileSync(join(dir, 'file'), 'x');
    const found = await problemsOf(config({ certDir: join(dir, 'file', 'certs'), stateDir: join(dir, 'var', 'nrcert') }));
    expect(found).toEqual([
      `CERT_DIR: ${join(dir, 'file')}, on the way to ${join(dir, 'file', 'certs')}, is not a directory; change CERT_DIR or move that file away`,
      expect.stringMatching(/^STATE_DIR: .*\/var is a symbolic link to .*\/gone, which does not exist/),
    ]);
  });

  it('names a read-only CERT_DIR, and the parent it would be created in', async () => {
    mkdirSync(join(dir, 'certs'));
    const found = await problemsOf(config(), options({ fs: failingWrites('EROFS') }));
    expect(found).toEqual([
      `CERT_DIR: ${join(dir, 'certs')} is on a read-only file system; remount it read-write or change the setting`,
      `STATE_DIR: ${dir} (where ${join(dir, 'state')} will be created) is on a read-only file system; remount it read-write or change the setting`,
    ]);
  });

  // Root writes into a 0555 directory anyway: as root the real probe meets a read-only mount instead.
  it('probes the real directory: a read-only one (0555 for a user, a read-only mount for root) is refused', async () => {
    const certs = join(dir, 'certs');
    mkdirSync(certs);
    if (UID !== 0) {
      chmodSync(certs, 0o555);
      expect(await problemsOf(config())).toEqual([expect.stringMatching(/^CERT_DIR: .* is not writable by this user/)]);
      return;
    }
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', certs]);
    try {
      expect(await problemsOf(config())).toEqual([expect.stringMatching(/^CERT_DIR: .* is on a read-only file system/)]);
    } finally {
      execFileSync('umount', [certs]);
    }
  });

  it('names a full disk: a failing probe, or less than 1 MiB free', async () => {
    mkdirSync(join(dir, 'certs'));
    expect(await problemsOf(config(), options({ fs: failingWrites('ENOSPC') }))).toEqual([
      expect.stringMatching(/^CERT_DIR: .* is full/), expect.stringMatching(/^STATE_DIR: .* is full/),
    ]);
    const almostFull = { statfs: async () => ({ bavail: 10, bfree: 300, bsize: 4096 }) };
    expect(await problemsOf(config(), options({ uid: 1000, fs: almostFull }))).toEqual([
      `CERT_DIR: ${join(dir, 'certs')} has only 40 KiB free; nrcert needs at least 1024 KiB: free some space`,
      expect.stringContaining('STATE_DIR: '),
    ]);
    // Root may use the reserved blocks (1.2 MiB here).
    expect(await problemsOf(config(), options({ uid: 0, fs: almostFull }))).toEqual([]);
  });

  it('skips the CERT_DIR write checks in a dry run, which installs nothing, but not its path or STATE_DIR', async () => {
    mkdirSync(join(dir, 'certs'));
    expect(await problemsOf(config(), options({ dryRun: true, fs: failingWrites('EROFS') }))).toEqual([expect.stringMatching(/^STATE_DIR: /)]);
    rmSync(join(dir, 'certs'), { recursive: true });
    symlinkSync(join(dir, 'gone'), join(dir, 'certs'));
    expect(await problemsOf(config(), options({ dryRun: true }))).toEqual([expect.stringMatching(/^CERT_DIR: .* symbolic link/)]);
  });

  it('names a RESTART_COMMAND that is missing, not executable or a directory', async () => {
    expect(await problemsOf(config({ restart: ['pm3', 'restart', 'node-red'] }))).toEqual([
      `RESTART_COMMAND: "pm3" is not found in PATH (${join(dir, 'nothing-here')}:${bin}); install it or give its full path`,
    ]);
    expect(await problemsOf(config({ restart: ['not-executable'] }))).toEqual([
      `RESTART_COMMAND: "not-executable" is in PATH but cannot be run (${join(bin, 'not-executable')} is not executable (chmod +x it))`,
    ]);
    expect(await problemsOf(config({ restart: ['/usr/local/bin/nope-restart'] }))).toEqual([
      'RESTART_COMMAND: /usr/local/bin/nope-restart does not exist; give the full path of an executable',
    ]);
    expect(await problemsOf(config({ restart: ['./bin'] }))).toEqual([
      `RESTART_COMMAND: ${bin} is not a file; give the full path of an executable`,
    ]);
  });

  it('leaves RESTART_COMMAND=auto to its own resolution', async () => {
    const auto = { ...config(), restart: { argv: [], auto: true, timeoutMs: 1 } };
    await expect(preflight(auto, ['sudo-that-does-not-exist', '-n', 'systemctl'], options())).resolves.toBeUndefined();
  });

  it('reports every problem at once', async () => {
    symlinkSync(join(dir, 'gone'), join(dir, 'certs'));
    const found = await problemsOf(config({ restart: ['pm3'] }), options({ fs: { ...failingWrites('EACCES') } }));
    expect(found.map((p) => p.split(':')[0])).toEqual(['CERT_DIR', 'STATE_DIR', 'RESTART_COMMAND']);
    expect(found[1]).toContain('is not writable by this user');
  });
});

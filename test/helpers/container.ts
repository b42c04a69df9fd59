/**
 * A real systemd 252 (Debian 12, as on Raspberry Pi OS bookworm) booted with `systemd-nspawn -b`
 * for the deployment tests. The pristine root comes from systemd-root.sh (debootstrap, cached
 * between runs); each test file boots its own copy. The container shares the host's network
 * namespace, so Pebble and the Cloudflare fake on the host's 127.0.0.1 are reachable from inside.
 * Commands run inside through `nsenter -t <init> -a`. Facts used: /work/shared/FACTS.md.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, writeFileSync, chownSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { waitFor } from './wait';

const ROOT_SCRIPT = join(__dirname, 'systemd-root.sh');
const CONTAINER_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** What one command inside the container printed and how it ended. */
export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A host directory made visible inside the container. */
export interface Bind {
  host: string;
  container: string;
  readOnly?: boolean;
}

/** A booted container. */
export interface Container {
  /** The container's root directory on the host (write files into it directly). */
  root: string;
  initPid(): number;
  /** Runs argv inside (all namespaces of init), with a clean environment; never rejects on exit codes. */
  exec(argv: string[], opts?: { timeoutMs?: number; env?: Record<string, string> }): Promise<ExecResult>;
  /** `bash -euo pipefail -c script` inside; rejects when it exits non-zero, with its output. */
  sh(script: string, timeoutMs?: number): Promise<string>;
  /** Writes a file into the root with the given mode and numeric owner. */
  writeFile(path: string, content: string | Buffer, mode?: number, uid?: number, gid?: number): void;
  /** SIGRTMIN+3 to init (a clean poweroff), wait until it is gone, boot the same root again. */
  reboot(): Promise<void>;
  /** Powers the container off (SIGKILL after 60 s). */
  stop(): Promise<void>;
}

/**
 * Why the container tests cannot run here, or undefined when they can: they need root,
 * systemd-nspawn (package systemd-container), debootstrap and nsenter.
 */
export function systemdContainerUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not running as root';
  for (const [tool, pkg] of [['systemd-nspawn', 'systemd-container'], ['debootstrap', 'debootstrap'], ['nsenter', 'util-linux'], ['setfacl', 'acl']]) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} not found (apt-get install ${pkg})`;
  }
  return undefined;
}

/** The cached pristine root (built by debootstrap on the first call on this machine, ~3 min). */
export function pristineRoot(): string {
  const r = spawnSync('bash', [ROOT_SCRIPT], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 15 * 60_000 });
  if (r.status !== 0) throw new Error(`systemd-root.sh failed (${r.status ?? r.signal}):\n${r.stderr.slice(-4000)}`);
  return r.stdout.trim().split('\n').pop()!;
}

/** Copies the pristine root to `dest` (reflinks where the filesystem can) and boots it. */
export async function bootContainer(dest: string, binds: Bind[] = []): Promise<Container> {
  const clone = spawnSync('cp', ['-a', '--reflink=auto', pristineRoot(), dest]);
  if (clone.status !== 0) throw new Error(`cp of the pristine root failed: ${clone.stderr}`);
  for (const b of binds) mkdirSync(join(dest, b.container), { recursive: true });
  let nspawn: ChildProcess | undefined;
  let init = 0;
  let output = '';

  const boot = async (): Promise<void> => {
    const args = ['-q', '-D', dest, '--console=passive', '-b', '--register=no', '--keep-unit',
      ...binds.map((b) => `--bind${b.readOnly ? '-ro' : ''}=${b.host}:${b.container}`)];
    output = '';
    const child = spawn('systemd-nspawn', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    nspawn = child;
    child.stdout!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
    child.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
    await waitFor(() => {
      if (child.exitCode !== null) throw new Error(`systemd-nspawn exited ${child.exitCode}:\n${output}`);
      const p = spawnSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' });
      init = Number(p.stdout.trim().split('\n')[0]);
      return init > 0;
    }, 30_000, { what: 'the container\'s init' });
    // `running`, or `degraded` if some unit of the minimal system failed: both mean booted.
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`systemd-nspawn exited ${child.exitCode}:\n${output}`);
      const r = await exec(['systemctl', 'is-system-running']);
      return /^(running|degraded)/.test(r.stdout);
    }, 180_000, { what: 'the container to finish booting', intervalMs: 200 });
  };

  const exec = (argv: string[], opts: { timeoutMs?: number; env?: Record<string, string> } = {}): Promise<ExecResult> => {
    const env = { PATH: CONTAINER_PATH, HOME: '/root', LANG: 'C.UTF-8', ...opts.env };
    const child = spawn('nsenter', ['-t', String(init), '-a', 'env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...argv], {
      stdio: ['ignore', 'pipe', 'pipe'], env: {},
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    return new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  };

  const poweroff = async (): Promise<void> => {
    const child = nspawn;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    spawnSync('kill', ['-s', 'SIGRTMIN+3', String(init)]);
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    await exited;
    clearTimeout(timer);
  };

  await boot();
  return {
    root: dest,
    initPid: () => init,
    exec,
    async sh(script, timeoutMs) {
      const r = await exec(['bash', '-euo', 'pipefail', '-c', script], { timeoutMs });
      if (r.code !== 0) throw new Error(`in the container, exit ${r.code}: ${script}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`);
      return r.stdout;
    },
    writeFile(path, content, mode = 0o644, uid = 0, gid = 0) {
      const full = join(dest, path);
      mkdirSync(dirname(full), { recursive: true });
      writeFileSync(full, content, { mode });
      chownSync(full, uid, gid);
    },
    async reboot() {
      await poweroff();
      await boot();
    },
    stop: poweroff,
  };
}

/** Copies the host's /usr/bin/node into the root (the Pi's `node`, Node 20 here). */
export function copyNode(root: string): void {
  if (!existsSync(join(root, 'usr/bin/node'))) cpSync('/usr/bin/node', join(root, 'usr/bin/node'));
}

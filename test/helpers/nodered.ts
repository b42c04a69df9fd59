/**
 * Runs a REAL Node-RED (a node-red devDependency: 4 or 5, see ./nodered-releases) in tests, under test/helpers/nodered-supervisor.js,
 * which restarts it on SIGHUP like `systemctl restart nodered` and never restarts a child that
 * exited on its own. Node-RED facts this relies on are in /work/shared/FACTS.md.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { connect, type PeerCertificate } from 'node:tls';
import { defaultNodeRed, type NodeRedRelease } from './nodered-releases';
import { freePort } from './ports';
import { waitFor } from './wait';

/** Re-exported for the tests that import it from here; it lives in ./wait. */
export { waitFor };
export { nodeRedReleases, type NodeRedRelease } from './nodered-releases';

const SUPERVISOR_JS = join(__dirname, 'nodered-supervisor.js');
const RESTART_JS = join(__dirname, 'restart-nodered.js');
const START_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 15_000;

/** The files nodered-supervisor.js keeps in the user dir (same names as its supervisorFiles()). */
function supervisorFiles(userDir: string): { pid: string; state: string; log: string } {
  return {
    pid: join(userDir, 'nodered-supervisor.pid'),
    state: join(userDir, 'nodered-supervisor.json'),
    log: join(userDir, 'node-red.log'),
  };
}

/** What nodered-supervisor.js records about its Node-RED child. */
export interface SupervisorState {
  supervisorPid: number;
  /** 1 for the first child, +1 for every child started by a restart. */
  generation: number;
  childPid: number | null;
  running: boolean;
  port: number | null;
  lastExit: { generation: number; code: number | null; signal: string | null; error: string | null } | null;
}

/** Options of startNodeRed. */
export interface NodeRedOptions {
  /** Node-RED's user dir (-u); it must hold a settings.js binding 127.0.0.1 (see prepareUserDir). */
  userDir: string;
  /** Port (-p); chosen at run time when absent. */
  port?: number;
  /** Another settings file (-s). */
  settingsFile?: string;
  /** Which Node-RED runs; Node-RED 4 when absent. */
  release?: NodeRedRelease;
}

/** A Node-RED running under the supervisor. */
export interface NodeRedInstance {
  release: NodeRedRelease;
  port: number;
  /** https://127.0.0.1:PORT */
  url: string;
  userDir: string;
  /** Node-RED's output and the supervisor's "[supervisor]" lines. */
  logPath: string;
  supervisorPid: number;
  /** argv for RESTART_COMMAND: node restart-nodered.js USERDIR (absolute paths). */
  restartCommand: string[];
  /** Resolves once a TLS handshake succeeds; rejects at once if Node-RED exits, or on timeout. */
  waitForTls(timeoutMs?: number): Promise<void>;
  /** One TLS handshake (certificate not verified, SNI = servername) and the certificate served. */
  servedCertificate(servername?: string): Promise<{ fingerprint256: string; raw: Buffer }>;
  /** True while a Node-RED child is running. */
  isRunning(): Promise<boolean>;
  /** The supervisor's current state file. */
  state(): SupervisorState;
  readLog(): string;
  /** Stops the supervisor and Node-RED and waits until both are gone. */
  stop(): Promise<void>;
}

/**
 * Copies the default settings.js of `release` (Node-RED 4 when absent) into `userDir` and
 * uncomments its `//uiHost: "127.0.0.1",` so Node-RED binds loopback only. Returns the settings path.
 */
export function prepareUserDir(userDir: string, release: NodeRedRelease = defaultNodeRed()): string {
  const settingsPath = join(userDir, 'settings.js');
  copyFileSync(join(release.dir, 'settings.js'), settingsPath);
  const text = readFileSync(settingsPath, 'utf8');
  const commented = '//uiHost: "127.0.0.1",';
  if (!text.includes(commented)) throw new Error(`prepareUserDir: no ${commented} in Node-RED's settings.js`);
  writeFileSync(settingsPath, text.replace(commented, 'uiHost: "127.0.0.1",'));
  return settingsPath;
}

/** Inserts `snippet` (settings properties, each ending with a comma) right after `module.exports = {`. */
export function insertIntoSettings(settingsPath: string, snippet: string): void {
  const text = readFileSync(settingsPath, 'utf8');
  const anchor = 'module.exports = {';
  const at = text.indexOf(anchor);
  if (at < 0) throw new Error(`insertIntoSettings: no "${anchor}" in ${settingsPath}`);
  const end = at + anchor.length;
  writeFileSync(settingsPath, `${text.slice(0, end)}\n${snippet}\n${text.slice(end)}`);
}

/** True when `pid` is a live process (a zombie waiting to be reaped counts as gone). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function tlsPeer(port: number, servername?: string): Promise<PeerCertificate> {
  return new Promise((resolvePeer, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false, timeout: 2000 });
    socket.once('secureConnect', () => {
      const peer = socket.getPeerCertificate();
      socket.destroy();
      resolvePeer(peer);
    });
    socket.once('timeout', () => socket.destroy(new Error(`TLS handshake with port ${port} timed out`)));
    socket.once('error', reject);
  });
}

function readState(statePath: string): SupervisorState | undefined {
  try {
    return JSON.parse(readFileSync(statePath, 'utf8')) as SupervisorState;
  } catch {
    return undefined;
  }
}

function spawnSupervisor(userDir: string, nodeRedArgs: string[]): { child: ChildProcess; exited: Promise<void> } {
  const env = { ...process.env, NODE_RED_DISABLE_TELEMETRY: '1' };
  const args = [SUPERVISOR_JS, '--exit-with-stdin', userDir, '--', process.execPath, ...nodeRedArgs];
  const child = spawn(process.execPath, args, { env, cwd: userDir, stdio: ['pipe', 'ignore', 'inherit'] });
  const exited = new Promise<void>((done) => {
    child.once('exit', () => done());
    child.once('error', () => done());
  });
  return { child, exited };
}

/**
 * Starts Node-RED under the supervisor and resolves once its first child is started (not yet
 * serving: call waitForTls, or expect it to fail when the certificate is bad).
 */
export async function startNodeRed(opts: NodeRedOptions): Promise<NodeRedInstance> {
  const userDir = resolve(opts.userDir);
  const port = opts.port ?? (await freePort());
  const files = supervisorFiles(userDir);
  const release = opts.release ?? defaultNodeRed();
  const nodeRedArgs = [join(release.dir, 'red.js'), '-u', userDir, '-p', String(port)];
  if (opts.settingsFile) nodeRedArgs.push('-s', resolve(opts.settingsFile));
  const supervisor = spawnSupervisor(userDir, nodeRedArgs);
  let supervisorGone = false;
  void supervisor.exited.then(() => (supervisorGone = true));
  const readLog = (): string => {
    try {
      return readFileSync(files.log, 'utf8');
    } catch {
      return '';
    }
  };
  const state = (): SupervisorState => {
    const current = readState(files.state);
    if (!current) throw new Error(`no supervisor state in ${files.state}`);
    return current;
  };
  const stop = async (): Promise<void> => {
    const childPid = readState(files.state)?.childPid;
    if (!supervisorGone) {
      supervisor.child.kill('SIGTERM');
      const timer = setTimeout(() => supervisor.child.kill('SIGKILL'), STOP_GRACE_MS);
      await supervisor.exited;
      clearTimeout(timer);
    }
    if (childPid && isAlive(childPid)) process.kill(childPid, 'SIGKILL');
    if (childPid) await waitFor(() => !isAlive(childPid), 5000);
  };
  try {
    await waitFor(() => supervisorGone || (readState(files.state)?.generation ?? 0) >= 1, START_TIMEOUT_MS);
    if (supervisorGone) throw new Error(`the supervisor exited at start-up:\n${readLog()}`);
  } catch (err) {
    await stop();
    throw err;
  }
  const waitForTls = async (timeoutMs = START_TIMEOUT_MS): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (supervisorGone || !state().running) throw new Error(`Node-RED is not running:\n${readLog()}`);
      try {
        await tlsPeer(port);
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`Node-RED did not serve TLS within ${timeoutMs} ms: ${String(err)}\n${readLog()}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return {
    release,
    port,
    url: `https://127.0.0.1:${port}`,
    userDir,
    logPath: files.log,
    supervisorPid: supervisor.child.pid as number,
    restartCommand: [process.execPath, RESTART_JS, userDir],
    waitForTls,
    servedCertificate: async (servername) => {
      const peer = await tlsPeer(port, servername);
      return { fingerprint256: peer.fingerprint256, raw: peer.raw };
    },
    isRunning: async () => {
      const current = readState(files.state);
      return !supervisorGone && !!current?.running && !!current.childPid && isAlive(current.childPid);
    },
    state,
    readLog,
    stop,
  };
}

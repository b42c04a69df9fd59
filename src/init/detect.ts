/**
 * What `nrcert init` can find out about the machine to offer good defaults: where Node-RED keeps
 * its user directory, and whether the Raspberry Pi installer's `nodered.service` exists. The
 * machine is passed in (files, home, environment), so tests can describe any machine.
 */
import { join, resolve } from 'node:path';

/** The parts of the machine detection looks at. */
export interface Machine {
  home: string;
  env: Record<string, string | undefined>;
  exists(path: string): boolean;
  /** A file's text, or undefined when it cannot be read. */
  readFile(path: string): string | undefined;
  /** Where systemd keeps unit files (UNIT_DIRS of nodered/restart.ts). */
  unitDirs: string[];
}

/** A candidate Node-RED user directory and why it was offered. */
export interface NodeRedDirCandidate {
  dir: string;
  why: string;
}

/** The `nodered.service` unit file, if one exists. */
export function findNodeRedUnit(m: Machine): { path: string; text: string } | undefined {
  for (const dir of m.unitDirs) {
    const path = join(dir, 'nodered.service');
    if (m.exists(path)) return { path, text: m.readFile(path) ?? '' };
  }
  return undefined;
}

/** The user directory a nodered.service runs Node-RED with: `-u/--userDir DIR`, else `~User/.node-red`. */
export function userDirOfUnit(text: string, m: Machine): string | undefined {
  const unit = text.split('\n').filter((line) => !/^\s*[#;]/.test(line)).join('\n');
  const flag = /(?:^|\s)(?:-u|--userDir)(?:\s+|=)("[^"]+"|'[^']+'|\S+)/m.exec(unit)?.[1]?.replace(/^["']|["']$/g, '');
  const workdir = /^WorkingDirectory=(.+)$/m.exec(unit)?.[1]?.trim();
  if (flag) return resolve(workdir ?? '/', flag);
  const user = /^User=(\S+)/m.exec(unit)?.[1];
  if (!user) return workdir ? join(workdir, '.node-red') : undefined;
  const entry = (m.readFile('/etc/passwd') ?? '').split('\n').find((l) => l.split(':')[0] === user);
  const home = entry?.split(':')[5];
  return home ? join(home, '.node-red') : undefined;
}

/**
 * Existing Node-RED user directories, best first: NODE_RED_USER_DIR, the one nodered.service
 * uses, ~/.node-red, and /data (the Node-RED Docker image).
 */
export function nodeRedDirCandidates(m: Machine): NodeRedDirCandidate[] {
  const found: NodeRedDirCandidate[] = [];
  const add = (dir: string | undefined, why: string) => {
    if (dir && m.exists(dir) && !found.some((c) => c.dir === dir)) found.push({ dir, why });
  };
  const fromEnv = m.env.NODE_RED_USER_DIR?.replace(/^~(?=$|\/)/, m.home);
  add(fromEnv && resolve(fromEnv), 'NODE_RED_USER_DIR');
  const unit = findNodeRedUnit(m);
  if (unit) add(userDirOfUnit(unit.text, m), `the user directory of ${unit.path}`);
  add(join(m.home, '.node-red'), 'your home directory');
  if (m.exists('/data/settings.js')) add('/data', 'the Node-RED Docker image');
  return found;
}

/** `auto` when nodered.service exists (nrcert restarts it), else `none` (httpsRefreshInterval). */
export function defaultRestart(m: Machine): 'auto' | 'none' {
  return findNodeRedUnit(m) ? 'auto' : 'none';
}

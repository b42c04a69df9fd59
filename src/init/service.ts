/**
 * The systemd service of this install: deploy/systemd/nrcert.service with the paths of this
 * checkout, this .env, CERT_DIR and STATE_DIR, running as the user who ran `nrcert init` (the
 * same user whose account key, state and lock the first renewal created).
 */
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { asOwnerOf } from '../privilege/as-owner';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeFileAtomic } from '../store/atomic';

/** What the unit is adjusted to. `user` absent: runs as root. */
export interface ServicePaths {
  root: string;
  node: string;
  envFile: string;
  certDir: string;
  stateDir: string;
  user?: { name: string; group: string };
}

/** Where the unit goes and whether systemctl may be run (false: print the commands instead). */
export interface ServiceTarget {
  /** /etc/systemd/system, or NRCERT_SYSTEMD_DIR in tests. */
  unitDir: string;
  runSystemctl: boolean;
}

const quote = (p: string) => (/[\s"'\\]/.test(p) ? `"${p.replace(/(["\\])/g, '\\$1')}"` : p);

/** The template with this install's paths and user. */
export function adjustServiceUnit(template: string, p: ServicePaths): string {
  const lines = template.split('\n').flatMap((line): string[] => {
    if (line.startsWith('Documentation=')) return [`Documentation=file:${join(p.root, 'deploy', 'README.md')}`];
    if (line.startsWith('WorkingDirectory=')) return [`WorkingDirectory=${quote(p.root)}`];
    if (line.startsWith('EnvironmentFile=')) return [`EnvironmentFile=${quote(p.envFile)}`];
    if (line.startsWith('ExecStart=')) return [`ExecStart=${quote(p.node)} ${quote(join(p.root, 'dist', 'cli', 'index.js'))} run`];
    if (line.startsWith('ReadWritePaths=')) return [`ReadWritePaths=${quote(p.certDir)} ${quote(p.stateDir)}`];
    if (/^(SupplementaryGroups)=/.test(line)) return [];
    if (line.startsWith('User=')) return p.user ? [`User=${p.user.name}`] : [];
    if (line.startsWith('Group=')) return p.user ? [`Group=${p.user.group}`] : [];
    // Running as root, nrcert needs CAP_CHOWN and CAP_DAC_OVERRIDE to give the files to CERT_DIR's owner.
    if (line.startsWith('CapabilityBoundingSet=') && !p.user) return [];
    return [line];
  });
  const who = p.user ? `user ${p.user.name}` : 'root';
  return [`# Written by nrcert init for ${p.root}: runs as ${who}, settings from ${p.envFile}.`, ...lines].join('\n');
}

/** Reads the template from the checkout and returns the adjusted unit. */
export async function serviceUnit(p: ServicePaths): Promise<string> {
  return adjustServiceUnit(await readFile(join(p.root, 'deploy', 'systemd', 'nrcert.service'), 'utf8'), p);
}

/** The commands that enable and start the service once the unit is in /etc/systemd/system. */
export const ENABLE_COMMANDS = ['systemctl daemon-reload', 'systemctl enable --now nrcert'];

/**
 * Writes the unit into `target.unitDir` (CERT_DIR and STATE_DIR must exist before it starts,
 * or systemd fails it with 226/NAMESPACE) and enables it, or returns the commands left to run.
 */
export async function installService(unit: string, p: ServicePaths, target: ServiceTarget): Promise<{ path: string; pending: string[] }> {
  // As the owner of the folder each is created in (privilege/as-owner.ts): a CERT_DIR root makes in
  // /home/pi/.node-red belongs to pi, or Node-RED could not read what is installed there.
  asOwnerOf(p.certDir, () => mkdirSync(p.certDir, { recursive: true }));
  asOwnerOf(p.stateDir, () => mkdirSync(p.stateDir, { recursive: true, mode: 0o700 }));
  const path = join(target.unitDir, 'nrcert.service');
  await writeFileAtomic(path, unit, 0o644);
  if (!target.runSystemctl) return { path, pending: ENABLE_COMMANDS };
  for (const command of ENABLE_COMMANDS) {
    await promisify(execFile)(command.split(' ')[0], command.split(' ').slice(1), { timeout: 60_000 });
  }
  return { path, pending: [] };
}

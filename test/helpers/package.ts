/**
 * Builds nrcert-<version>.tgz from the current dist/ (deploy/package/build.js, what
 * `npm run package` runs after tsc) and installs it the way the README tells a Pi user:
 * `npm install -g --prefix PREFIX --offline ./nrcert-<version>.tgz`. Used by the package test and
 * the bench.
 */
import { execFile } from 'node:child_process';
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');

/** An installed package. */
export interface InstalledPackage {
  tgz: string;
  /** The npm prefix; `bin/nrcert` is the command on PATH. */
  prefix: string;
  /** PREFIX/lib/node_modules/nrcert */
  root: string;
  /** PREFIX/bin/nrcert */
  bin: string;
  /** Sum of the installed regular files' sizes, and their number. */
  bytes: number;
  files: number;
}

/** Regular files under `dir` (symlinks not followed): how many, how many bytes. */
export function treeSize(dir: string): { bytes: number; files: number } {
  let bytes = 0;
  let files = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const sub = treeSize(path);
      bytes += sub.bytes;
      files += sub.files;
    } else if (entry.isFile()) {
      bytes += lstatSync(path).size;
      files += 1;
    }
  }
  return { bytes, files };
}

/** Packs dist/ into `dir`, installs the .tgz into `dir`/prefix offline, and measures it. */
export async function packAndInstall(dir: string): Promise<InstalledPackage> {
  const { stdout } = await run(process.execPath, [join(ROOT, 'deploy', 'package', 'build.js'), '--out', dir], { cwd: ROOT });
  const tgz = join(dir, stdout.trim().split('/').pop()!);
  const prefix = join(dir, 'prefix');
  // Its own empty npm cache: --offline then proves the install needs nothing from a registry.
  const env = { ...process.env, npm_config_cache: join(dir, 'npm-cache'), npm_config_update_notifier: 'false' };
  await run('npm', ['install', '-g', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', tgz], { cwd: dir, env });
  const root = join(prefix, 'lib', 'node_modules', 'nrcert');
  return { tgz, prefix, root, bin: join(prefix, 'bin', 'nrcert'), ...treeSize(root) };
}

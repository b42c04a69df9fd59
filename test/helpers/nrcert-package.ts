/**
 * The nrcert package the systemd tests install: for now an unpacked folder staged from this
 * checkout (dist/, package.json, deploy/, .env.example and the production node_modules that
 * `npm ls --omit=dev` names). deploy/install/install-systemd.sh takes a folder or a .tgz, so
 * switching to `npm run package`'s nrcert-<version>.tgz is a change to this one function.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';

const REPO = join(__dirname, '..', '..');

/** Stages the package into `dest` (a folder the install script accepts) and returns its path. */
export function stagePackage(dest: string): string {
  if (!existsSync(join(REPO, 'dist', 'cli', 'index.js'))) throw new Error('dist/ is missing: npm run build first');
  mkdirSync(dest, { recursive: true });
  for (const entry of ['dist', 'deploy', 'package.json', '.env.example']) {
    cpSync(join(REPO, entry), join(dest, entry), { recursive: true });
  }
  const paths = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: REPO, encoding: 'utf8' })
    .split('\n').filter((p) => p && p !== REPO).sort();
  let copied: string | undefined;
  for (const path of paths) {
    if (copied && path.startsWith(`${copied}/`)) continue;
    cpSync(path, join(dest, relative(REPO, path)), { recursive: true, verbatimSymlinks: true });
    copied = path;
  }
  return dest;
}

/**
 * Jest globalSetup: rebuilds dist/ when it is older than src/, so integration tests (and the unit
 * tests that load built JS) never run a stale build, even under a bare `npx jest <file>`.
 * Up to date means: every src/**\/*.ts (not .d.ts) has its dist/**\/*.js, no older than itself;
 * then this costs a directory walk. Otherwise it runs `npm run build`'s two steps: tsc, then
 * chmod +x on the CLI entry point. A lock keeps two jest runs from building at once.
 */
'use strict';
const { execFileSync } = require('node:child_process');
const { createHash } = require('node:crypto');
const { chmodSync, mkdirSync, readdirSync, rmdirSync, statSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join, relative } = require('node:path');

const ROOT = join(__dirname, '..', '..');
const SRC = join(ROOT, 'src');
const DIST = join(ROOT, 'dist');
const CLI = join(DIST, 'cli', 'index.js');
/** One lock per checkout, outside it (nothing to clean up in the repository). */
const LOCK = join(tmpdir(), `nrcert-build-${createHash('sha256').update(ROOT).digest('hex').slice(0, 12)}.lock`);
/** A lock older than this was left by a run that died; tsc takes seconds. */
const STALE_LOCK_MS = 5 * 60_000;

/** The first src file whose built counterpart is missing or older, or undefined when none is. */
function staleSource(dir = SRC) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const found = staleSource(path);
      if (found) return found;
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
      const built = join(DIST, relative(SRC, path)).replace(/\.ts$/, '.js');
      let builtAt;
      try {
        builtAt = statSync(built).mtimeMs;
      } catch {
        return path;
      }
      if (statSync(path).mtimeMs > builtAt) return path;
    }
  }
  return undefined;
}

function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Takes the build lock, waiting while another run holds it; false when that run built already. */
function lock() {
  for (;;) {
    try {
      mkdirSync(LOCK);
      return true;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
    }
    try {
      if (Date.now() - statSync(LOCK).mtimeMs > STALE_LOCK_MS) rmdirSync(LOCK);
    } catch {
      // released meanwhile
    }
    sleep(200);
    if (!staleSource()) return false;
  }
}

function build(why) {
  process.stderr.write(`\ncheck-build: ${relative(ROOT, why)} is newer than its build; running tsc -p tsconfig.json\n`);
  try {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  } catch (err) {
    throw new Error(`check-build: the build failed, so dist/ would not match src/:\n${err.stdout ?? ''}${err.stderr ?? ''}`);
  }
  chmodSync(CLI, 0o755);
}

module.exports = function checkBuild() {
  const why = staleSource();
  if (!why) return;
  if (!lock()) return;
  try {
    const still = staleSource();
    if (still) build(still);
  } finally {
    rmdirSync(LOCK);
  }
};

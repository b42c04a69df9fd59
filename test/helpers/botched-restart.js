#!/usr/bin/env node
/**
 * Test helper used as RESTART_COMMAND: a restart that goes wrong the first time and right after.
 *
 *   node botched-restart.js USERDIR MARKER
 *
 * First call (MARKER absent): creates MARKER, kills the running Node-RED child (the supervisor
 * leaves it down) and exits 0 — a restart that claims success but leaves Node-RED down. Every
 * later call: a real restart through restart-nodered.js, with its exit code.
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const [userDir, marker] = process.argv.slice(2);
if (!fs.existsSync(marker)) {
  fs.writeFileSync(marker, `${new Date().toISOString()}\n`);
  const state = JSON.parse(fs.readFileSync(path.join(userDir, 'nodered-supervisor.json'), 'utf8'));
  if (state.childPid) process.kill(state.childPid, 'SIGTERM');
  process.exit(0);
}
const result = spawnSync(process.execPath, [path.join(__dirname, 'restart-nodered.js'), userDir], { stdio: 'inherit' });
process.exit(result.status ?? 1);

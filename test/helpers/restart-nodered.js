#!/usr/bin/env node
'use strict';
/**
 * Test helper usable as nrcert's RESTART_COMMAND (argv, no shell):
 *
 *   node restart-nodered.js USERDIR [PORT]
 *
 * Sends SIGHUP to the nodered-supervisor.js running Node-RED for USERDIR, waits until the
 * supervisor has started a new child (its generation counter grows), then until that child
 * completes a TLS handshake on 127.0.0.1:PORT (PORT defaults to the one the supervisor recorded).
 * Exits 0 once Node-RED serves again; 1 with a message when the new child exited (e.g. a key and
 * certificate that do not match) or did not serve within 20 s; 2 on wrong usage.
 */
const fs = require('node:fs');
const tls = require('node:tls');
const { supervisorFiles } = require('./nodered-supervisor.js');

const TIMEOUT_MS = 20000;
const POLL_MS = 50;

function readState(files) {
  try {
    return JSON.parse(fs.readFileSync(files.state, 'utf8'));
  } catch {
    return undefined;
  }
}

function tlsHandshake(port) {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, timeout: 1000 });
    const done = (ok) => { socket.destroy(); resolve(ok); };
    socket.once('secureConnect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

function logTail(files) {
  try {
    return fs.readFileSync(files.log, 'utf8').trimEnd().split('\n').slice(-8).join('\n');
  } catch {
    return '(no log)';
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Resolves with an error message, or undefined once Node-RED serves TLS again. */
async function restart(userDir, portArg) {
  const files = supervisorFiles(userDir);
  const pid = Number(fs.readFileSync(files.pid, 'utf8').trim());
  const before = readState(files);
  if (!before) return `no supervisor state in ${files.state}`;
  const port = portArg ?? before.port;
  if (!port) return 'no port: pass it as the second argument';
  const started = Date.now();
  process.kill(pid, 'SIGHUP');
  while (Date.now() - started < TIMEOUT_MS) {
    const state = readState(files);
    if (state && state.generation > before.generation) {
      if (!state.running) {
        const exit = state.lastExit ?? {};
        return `Node-RED exited after the restart (code ${exit.code}, signal ${exit.signal})`;
      }
      if (await tlsHandshake(port)) {
        const seconds = ((Date.now() - started) / 1000).toFixed(1);
        console.log(`restart-nodered: Node-RED restarted (pid ${state.childPid}) and serves TLS on port ${port} after ${seconds} s`);
        return undefined;
      }
    }
    try {
      process.kill(pid, 0);
    } catch {
      return `the supervisor (pid ${pid}) is gone`;
    }
    await sleep(POLL_MS);
  }
  return `Node-RED did not serve TLS on port ${port} within ${TIMEOUT_MS / 1000} s`;
}

async function main() {
  const [userDir, portText] = process.argv.slice(2);
  if (!userDir) {
    console.error('usage: restart-nodered.js USERDIR [PORT]');
    process.exit(2);
  }
  let problem;
  try {
    problem = await restart(userDir, portText ? Number(portText) : undefined);
  } catch (err) {
    problem = err.message;
  }
  if (problem) {
    console.error(`restart-nodered: ${problem}\n${logTail(supervisorFiles(userDir))}`);
    process.exit(1);
  }
}

void main();

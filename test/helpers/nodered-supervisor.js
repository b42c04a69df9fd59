#!/usr/bin/env node
'use strict';
/**
 * Test helper: runs Node-RED as its child and restarts it on SIGHUP, the way
 * `systemctl restart nodered` does on a Raspberry Pi.
 *
 *   node nodered-supervisor.js [--exit-with-stdin] USERDIR -- COMMAND [ARGS...]
 *
 * In USERDIR it writes its pid (nodered-supervisor.pid), a state file (nodered-supervisor.json:
 * generation, childPid, running, port, lastExit) and appends the child's output plus its own
 * "[supervisor]" lines to node-red.log. A child that exits on its own is NOT restarted: Node-RED
 * exits with code 0 when its key and certificate do not match at start-up, and a real service
 * manager would leave it down too. Only SIGHUP starts a new child (after SIGTERM and exit of the
 * old one). SIGTERM/SIGINT, or the end of stdin with --exit-with-stdin, stop the child and exit.
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

/** Kill the child with SIGKILL when it has not exited this long after SIGTERM. */
const STOP_GRACE_MS = 10000;

/** The files the supervisor keeps in `userDir` (restart-nodered.js and nodered.ts read them). */
function supervisorFiles(userDir) {
  return {
    pid: path.join(userDir, 'nodered-supervisor.pid'),
    state: path.join(userDir, 'nodered-supervisor.json'),
    log: path.join(userDir, 'node-red.log'),
  };
}

function parseArgs(argv) {
  const exitWithStdin = argv[0] === '--exit-with-stdin';
  const rest = exitWithStdin ? argv.slice(1) : argv;
  const [userDir, separator, command, ...args] = rest;
  if (!userDir || separator !== '--' || !command) {
    throw new Error('usage: nodered-supervisor.js [--exit-with-stdin] USERDIR -- COMMAND [ARGS...]');
  }
  return { exitWithStdin, userDir: path.resolve(userDir), command, args };
}

/** The value of -p/--port in Node-RED's arguments, so restart-nodered.js knows where to look. */
function portOf(args) {
  const i = args.findIndex((a) => a === '-p' || a === '--port');
  return i >= 0 && args[i + 1] ? Number(args[i + 1]) : undefined;
}

function main() {
  const { exitWithStdin, userDir, command, args } = parseArgs(process.argv.slice(2));
  const files = supervisorFiles(userDir);
  const port = portOf(args);
  let child = null;
  let childExited = Promise.resolve();
  let generation = 0;
  let lastExit = null;
  let restarting = false;
  let shuttingDown = false;

  const log = (line) => fs.appendFileSync(files.log, `[supervisor] ${new Date().toISOString()} ${line}\n`);
  const writeState = () => {
    const state = {
      supervisorPid: process.pid, generation, childPid: child ? child.pid : null,
      running: child !== null, port: port ?? null, lastExit,
    };
    fs.writeFileSync(`${files.state}.tmp`, JSON.stringify(state));
    fs.renameSync(`${files.state}.tmp`, files.state);
  };

  const startChild = () => {
    const logFd = fs.openSync(files.log, 'a');
    const c = spawn(command, args, { stdio: ['ignore', logFd, logFd], env: process.env });
    fs.closeSync(logFd);
    generation += 1;
    const gen = generation;
    child = c;
    log(`child ${gen} started, pid ${c.pid}`);
    childExited = new Promise((resolve) => {
      const onGone = (code, signal, error) => {
        lastExit = { generation: gen, code, signal, error, at: new Date().toISOString() };
        const how = error ? `failed to start: ${error}` : signal ? `killed by ${signal}` : `exited with code ${code}`;
        log(`child ${gen} (pid ${c.pid}) ${how}`);
        if (child === c) child = null;
        writeState();
        resolve();
      };
      c.once('exit', (code, signal) => onGone(code, signal, null));
      c.once('error', (err) => { if (c.pid === undefined) onGone(null, null, err.message); });
    });
    writeState();
  };

  const stopChild = async () => {
    if (child) {
      const c = child;
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), STOP_GRACE_MS);
      await childExited;
      clearTimeout(timer);
    }
  };

  const restart = async () => {
    if (restarting || shuttingDown) return; // a restart already on its way satisfies this one
    restarting = true;
    log('SIGHUP: restarting Node-RED');
    await stopChild();
    if (!shuttingDown) startChild();
    restarting = false;
  };

  const shutdown = async (why) => {
    if (shuttingDown) return;
    shuttingDown = true;
    log(`${why}: stopping Node-RED and exiting`);
    await stopChild();
    fs.rmSync(files.pid, { force: true });
    process.exit(0);
  };

  fs.writeFileSync(files.pid, `${process.pid}\n`);
  process.on('SIGHUP', () => void restart());
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  if (exitWithStdin) {
    // The test runner holds the other end: if it dies, Node-RED does not outlive it.
    process.stdin.on('end', () => void shutdown('stdin closed'));
    process.stdin.on('error', () => void shutdown('stdin closed'));
    process.stdin.resume();
  }
  setInterval(() => {}, 1 << 30); // stay alive while no child runs (a failed restart)
  log(`supervisor pid ${process.pid}: ${command} ${args.join(' ')}`);
  startChild();
}

module.exports = { supervisorFiles };

if (require.main === module) {
  try {
    main();
  } catch (err) {
    process.stderr.write(`nodered-supervisor: ${err.message}\n`);
    process.exit(2);
  }
}

/**
 * esbuild plugin for the vendor bundles: Node built-ins (and one library file) that a library
 * requires at the top of a module but uses only on a path nrcert never takes, required when that
 * path runs instead.
 *
 * Why: every built-in a resident process loads stays resident. Node 22/24 keep more of each than
 * Node 20: on Node 24 the idle `nrcert run` paid ≈ 5 MB for `assert` (sonic-boom, thread-stream),
 * `worker_threads` (pino's transports) and `crypto` (dotenv's decryption) together, against a
 * 50 MB target on a 512 MB Pi Zero (bench/cli.bench.ts prints the figure).
 *
 *   pino         `transport()` (thread-stream, worker threads): nrcert writes with
 *                pino.destination({ sync: true }) and never asks for a transport.
 *   pino         `isMainThread`: read only when a destination is asynchronous.
 *   sonic-boom   `assert`: one call, when a destination is closed.
 *   dotenv       `crypto`: decrypting encrypted .env files, which nrcert never asks for.
 *   node-cron    `crypto`: its one use is `randomUUID()` for the ids of its own tasks and runs
 *                (keys of its in-process registry, which nrcert never reads). They become
 *                version-4-shaped ids from Math.random (122 random bits from an entropy-seeded
 *                generator: as unique within one process). The one change of behaviour here;
 *                nothing secret or shared is named by these ids.
 *
 * Otherwise the libraries behave exactly as before on every path; only when a built-in is
 * loaded changes.
 * Each rewrite names the exact text it replaces and must find it exactly once, or the build stops
 * naming the file: a new version of a library is then looked at again, never silently left as it
 * was (or half-rewritten).
 */
'use strict';
const fs = require('node:fs');

/** Package-relative file → [text, replacement] pairs. */
const REWRITES = {
  'pino/pino.js': [
    ["module.exports.transport = require('./lib/transport')", "Object.defineProperty(module.exports, 'transport', { enumerable: true, configurable: true, get: () => require('./lib/transport') })"],
  ],
  'pino/lib/tools.js': [
    ["const { isMainThread } = require('worker_threads')\n", ''],
    ['!opts.sync && isMainThread', "!opts.sync && require('worker_threads').isMainThread"],
    ["const transport = require('./transport')", "const transport = (...args) => require('./transport')(...args)"],
  ],
  'sonic-boom/index.js': [["const assert = require('assert')", "const assert = (...args) => require('assert')(...args)"]],
  'node-cron/dist/_shared.cjs': [
    ["var node_crypto = require('node:crypto');\n", ''],
    [
      'return node_crypto.randomUUID();',
      "return 'xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx'.replace(/[xy]/g, (c) => ((c === 'x' ? 0 : 8) + Math.floor(Math.random() * (c === 'x' ? 16 : 4))).toString(16));",
    ],
  ],
  'node-cron/dist/node-cron.cjs': [["require('node:crypto');\n", '']],
  'dotenv/lib/main.js': [["const crypto = require('crypto')", "const crypto = new Proxy({}, { get: (_, name) => require('crypto')[name] })"]],
};

/** Applies the rewrites of one file to its source; throws naming the file when one does not fit. */
function rewrite(relative, source) {
  let out = source;
  for (const [text, replacement] of REWRITES[relative]) {
    const count = out.split(text).length - 1;
    if (count !== 1) {
      throw new Error(`package: deploy/package/lazy-requires.js expects ${JSON.stringify(text)} once in node_modules/${relative}, found it ${count} times (a new version of the library? look at the file again)`);
    }
    out = out.replace(text, () => replacement);
  }
  return out;
}

/** The plugin; each rewritten file's name goes into `seen` (see checkAllRewritten). */
function lazyRequires(seen) {
  const files = Object.keys(REWRITES);
  const pattern = new RegExp(`node_modules[\\\\/](${files.map((f) => f.replace(/[.*+?^${}()|[\]\\/]/g, (c) => (c === '/' ? '[\\\\/]' : `\\${c}`))).join('|')})$`);
  return {
    name: 'nrcert-lazy-requires',
    setup(build) {
      build.onLoad({ filter: pattern }, (args) => {
        const relative = pattern.exec(args.path)[1].replace(/\\/g, '/');
        seen.add(relative);
        return { contents: rewrite(relative, fs.readFileSync(args.path, 'utf8')), loader: 'js' };
      });
    },
  };
}

/** Throws naming the files of REWRITES no bundle contained (moved or gone in a new version). */
function checkAllRewritten(seen) {
  const missing = Object.keys(REWRITES).filter((f) => !seen.has(f));
  if (missing.length) throw new Error(`package: deploy/package/lazy-requires.js rewrites ${missing.join(', ')}, which no vendor bundle contains any more: look at the library again`);
}

module.exports = { lazyRequires, checkAllRewritten, rewrite, REWRITES };

'use strict';
/**
 * Packs the compiled code of each folder of dist/ into one file, `<folder>/modules.js`, so the
 * package installs a file per folder instead of one per module (≈ 20 instead of ≈ 140: the
 * package target is ≤ 150 files, and every provider, command and check is a module more).
 *
 *   dist/cli/index.js        stays a real file (the bin; `run` and `init` start it by path), as do
 *                            the settings readers of the providers and the fleet (see KEEP)
 *   dist/<folder>/modules.js { "<module>": function (exports, require, module, __filename, __dirname) { …tsc output… } }
 *   dist/resident-modules.js { "<folder>/<module>": … }: the modules the idle service runs (RESIDENT)
 *   dist/modules-loader.js   loads a module from its pack: once, on first require, as Node would
 *
 * What lazy loading gave stays: a module's code runs only when something requires it (a pack
 * holds its modules as functions, called on first use), and a pack is read only when one of its
 * modules is first required, so `status` still never reads the ACME or Cloudflare code. Each module
 * keeps its identity (one pack per folder, one instance per module, cycles as in Node), its
 * `__filename`/`__dirname` (the paths it had in dist/), and requires of anything that is not
 * packed (Node built-ins, vendor/ bundles, the bin) go to Node's own require, so require.cache
 * still shows which bundles a command loaded.
 */
const fs = require('node:fs');
const path = require('node:path');

/**
 * The files that stay real, relative to dist/: the bin, and the settings readers every command
 * loads with the configuration (each provider's and the fleet's), so that reading the settings
 * never reads the folder of the client code beside them.
 */
const KEEP = /^(cli\/index|fleet\/config|dns\/[^/]+\/config)\.js$/;
const LOADER = 'modules-loader.js';
const PACK = 'modules.js';
const RESIDENT_PACK = 'resident-modules.js';

/**
 * What the resident service (`nrcert run`, idle, no editor folder, no fleet) runs, packed on
 * their own: from the folder packs it would read every command's source to run a third of it
 * (≈ 215 KB read for ≈ 77 KB run), and a script's source stays in the heap for as long as any of
 * its functions lives (≈ 0.3 MB VmRSS on Node 24, bench/cli.bench.ts). Every other command reads
 * this pack too (they all load the configuration). test/integration/service-idle.test.ts checks
 * that the idle service, from the package, reads no other pack; the build stops on a name here
 * that is no module.
 */
const RESIDENT = [
  'cli/args', 'cli/commands', 'cli/invocation', 'cli/resident', 'cli/run',
  'config/argv', 'config/config', 'config/domains', 'config/env-file', 'config/ownership', 'config/provider-settings', 'config/secret', 'config/values',
  'dns/duckdns/errors', 'dns/registry', 'doctor/types', 'editor/folder', 'editor/serve', 'errors', 'log',
  'privilege/as-owner', 'privilege/users', 'service/local-time', 'service/renewal-child', 'service/scheduler',
  'store/atomic', 'store/lock', 'store/state', 'store/state-dir', 'util/fs-async', 'util/hint', 'util/iso-time', 'util/journal',
];
const REQUIRE = /\brequire\((['"])(\.[^'"]*)\1\)/g;

/** The runtime: a require for the modules of one folder, resolving relative specifiers itself. */
const LOADER_SOURCE = `'use strict';
// Written by deploy/package/pack-folders.js: loads the modules packed into <folder>/${PACK},
// and those the idle service runs from ${RESIDENT_PACK}.
const path = require('node:path');
const PACKED = new Set(PACKED_LIST);
const RESIDENT = new Set(RESIDENT_LIST);
const packs = new Map();
const modules = new Map();
function load(id) {
  const hit = modules.get(id);
  if (hit) return hit.exports;
  const file = RESIDENT.has(id) ? '${RESIDENT_PACK}' : path.join(path.dirname(id), '${PACK}');
  let pack = packs.get(file);
  if (!pack) packs.set(file, (pack = require(path.join(__dirname, file))));
  const filename = path.join(__dirname, id + '.js');
  const mod = { exports: {}, id: filename, filename, loaded: false };
  modules.set(id, mod);
  try {
    pack[RESIDENT.has(id) ? id : path.basename(id)].call(mod.exports, mod.exports, requireFrom(path.dirname(filename)), mod, filename, path.dirname(filename));
  } catch (err) {
    modules.delete(id); // as Node does: a module whose body threw is not cached half-built
    throw err;
  }
  mod.loaded = true;
  return mod.exports;
}
function requireFrom(dir) {
  return (spec) => {
    if (!spec.startsWith('.')) return require(spec);
    const abs = path.resolve(dir, spec);
    const id = path.relative(__dirname, abs).replace(/\\.js$/, '').split(path.sep).join('/');
    return PACKED.has(id) ? load(id) : require(abs);
  };
}
module.exports = { requireFrom };
`;

/** Packs every folder of `distDir` (modules other than KEEP); returns the number of modules packed. */
function packFolders(distDir) {
  const byFolder = new Map();
  const kept = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      const rel = path.relative(distDir, file).split(path.sep).join('/');
      if (entry.isDirectory()) walk(file);
      else if (KEEP.test(rel)) kept.push(rel);
      else if (entry.name.endsWith('.js') && !KEEP.test(rel)) {
        const folder = path.posix.dirname(rel);
        if (!byFolder.has(folder)) byFolder.set(folder, []);
        byFolder.get(folder).push(file);
      }
    }
  };
  walk(distDir);
  const packed = [];
  const resident = new Map();
  const entry = (key, file) => `${JSON.stringify(key)}: function (exports, require, module, __filename, __dirname) {\n${compact(fs.readFileSync(file, 'utf8').replace(/^#!.*\n/, ''), file)}\n}`;
  for (const [folder, files] of byFolder) {
    const parts = [];
    for (const file of files.sort()) {
      const name = path.basename(file, '.js');
      const id = folder === '.' ? name : `${folder}/${name}`;
      packed.push(id);
      if (RESIDENT.includes(id)) resident.set(id, entry(id, file));
      else parts.push(entry(name, file));
      fs.rmSync(file);
    }
    if (parts.length) writePack(path.join(distDir, folder, PACK), parts);
  }
  const missing = RESIDENT.filter((id) => !resident.has(id));
  if (missing.length) throw new Error(`pack-folders.js: RESIDENT names ${missing.join(', ')}, which dist/ does not have: correct the list`);
  writePack(path.join(distDir, RESIDENT_PACK), RESIDENT.map((id) => resident.get(id)));
  fs.writeFileSync(path.join(distDir, LOADER), LOADER_SOURCE.replace('PACKED_LIST', () => JSON.stringify(packed.sort())).replace('RESIDENT_LIST', () => JSON.stringify(RESIDENT)));
  for (const rel of kept) rewriteKept(path.join(distDir, rel), distDir, new Set(packed));
  for (const file of fs.readdirSync(distDir, { recursive: true })) {
    if (String(file).endsWith('.d.ts') || String(file).endsWith('.js.map')) fs.rmSync(path.join(distDir, String(file)));
  }
  return packed.length;
}

/** One pack: `module.exports = { <key>: function (exports, require, …) { … }, … }`. */
function writePack(file, parts) {
  fs.writeFileSync(file, `'use strict';\nmodule.exports = {\n${parts.join(',\n')}\n};\n`);
}

/**
 * The module without comments and indentation (esbuild, whitespace only: names stay, so error
 * class names and stack frames still read as in the source). The comments are for the checkout;
 * on a Pi they are a third of the package's bytes.
 */
function compact(source, file) {
  const esbuild = require('esbuild');
  return esbuild.transformSync(source, { loader: 'js', format: 'cjs', minifyWhitespace: true, legalComments: 'none', target: 'node20', sourcefile: file }).code;
}

/** A real file's requires of packed modules go through the loader. */
function rewriteKept(file, distDir, packed) {
  const dir = path.dirname(file);
  const source = fs.readFileSync(file, 'utf8');
  let used = false;
  const out = source.replace(REQUIRE, (all, quote, spec) => {
    const id = path.relative(distDir, path.resolve(dir, spec)).replace(/\.js$/, '').split(path.sep).join('/');
    if (!packed.has(id)) return all;
    used = true;
    return `__nrcertRequire(${quote}${spec}${quote})`;
  });
  if (!used) return;
  const loader = path.relative(dir, path.join(distDir, LOADER)).split(path.sep).join('/');
  // The loader itself is required on the first packed require, not before: the bin's first
  // statement must run before anything is resolved (the `run` compiler flags, src/cli/index.ts).
  const spec = JSON.stringify(loader.startsWith('.') ? loader : `./${loader}`);
  const header = `let __nrcertLoader;\nconst __nrcertRequire = (spec) => (__nrcertLoader || (__nrcertLoader = require(${spec}).requireFrom(__dirname)))(spec);\n`;
  // After the shebang and "use strict": declared before any statement that uses it.
  const at = out.indexOf('"use strict";\n');
  const pos = at >= 0 ? at + '"use strict";\n'.length : (out.startsWith('#!') ? out.indexOf('\n') + 1 : 0);
  fs.writeFileSync(file, out.slice(0, pos) + header + out.slice(pos));
}

module.exports = { packFolders };

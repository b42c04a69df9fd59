#!/usr/bin/env node
/**
 * `npm run package`: writes nrcert-<version>.tgz, a package a Raspberry Pi can carry
 * (`npm install -g ./nrcert-<version>.tgz --offline` needs nothing but Node).
 *
 *   dist/            the tsc output, its requires of runtime dependencies rewritten to vendor/,
 *                    each folder's modules packed into one file (pack-folders.js)
 *   vendor/<dep>.js  each runtime dependency bundled by esbuild as its own file
 *   vendor/LICENSES.txt, deploy/, .env.example, README.md, package.json (no dependencies)
 *
 * One file per dependency, not one for everything: a command requires a bundle only where it
 * required the package before, so `status` and the idle service never parse the ACME or
 * Cloudflare code. A bundle that needs another vendored package (acme-client → axios) requires
 * the sibling file, so nothing is loaded twice. A bare require left in dist/ that is neither a
 * Node built-in nor vendored stops the build, naming the file: the package would fail at run time.
 *
 * `node deploy/package/build.js --prepare` is the `prepare` script: tsc when TypeScript is
 * installed, else a one-line notice (so `npm ci --omit=dev` on a clone does not fail).
 */
'use strict';
const { execFileSync } = require('node:child_process');
const { builtinModules } = require('node:module');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { checkAllRewritten, lazyRequires } = require('./lazy-requires');
const { packFolders } = require('./pack-folders');

const ROOT = path.join(__dirname, '..', '..');

/**
 * The vendor bundles: what each one is built from, and which specifiers in the compiled code
 * it answers. The Cloudflare bundle is built from the SDK's ES modules (so esbuild can drop every
 * resource nrcert does not use) with exactly the names src/dns/cloudflare/sdk.ts requires.
 */
const VENDOR = {
  'acme-client': { cjs: 'acme-client' },
  axios: { cjs: 'axios' },
  cloudflare: {
    esm: [
      ['BaseCloudflare', 'cloudflare/client'],
      ['BaseZones', 'cloudflare/resources/zones/zones'],
      ['BaseRecords', 'cloudflare/resources/dns/records'],
      ['BaseTokens', 'cloudflare/resources/user/tokens/tokens'],
    ],
  },
  bcryptjs: { cjs: 'bcryptjs' },
  'node-forge': { cjs: 'node-forge' },
  'peculiar-x509': { cjs: '@peculiar/x509' },
  'reflect-metadata': { cjs: 'reflect-metadata' },
  dotenv: { cjs: 'dotenv' },
  'dns-packet': { cjs: 'dns-packet' },
  execa: { esm: [['*', 'execa']] },
  'node-cron': { cjs: 'node-cron' },
  pino: { cjs: 'pino' },
};

/**
 * Bundles for nrcert's own code only, never shared with another bundle: acme-client carries its
 * own (older) @peculiar/x509, which must stay inside its bundle.
 */
const PRIVATE = new Set(['peculiar-x509', 'reflect-metadata']);

/** Bundles minified whole (identifiers too): their names never reach a message. */
const SMALL = new Set(['node-forge', 'peculiar-x509', 'reflect-metadata', 'bcryptjs', 'dns-packet']);

/** Specifier in the compiled code → vendor bundle name. */
const SPECIFIERS = new Map(
  Object.entries(VENDOR).flatMap(([name, v]) => (v.cjs ? [[v.cjs, name]] : v.esm.map(([, spec]) => [spec, name]))),
);

const BUILTINS = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
const REQUIRE = /\b(require|import)\((['"])([^'"]+)\2\)/g;

/** The source esbuild bundles for one vendor entry. */
function entrySource(v) {
  if (v.cjs) return `module.exports = require(${JSON.stringify(v.cjs)});\n`;
  return v.esm.map(([name, spec]) => (name === '*' ? `export * from ${JSON.stringify(spec)};` : `export { ${name} } from ${JSON.stringify(spec)};`)).join('\n');
}

/** esbuild plugin: another vendored package becomes a require of its sibling bundle. */
function siblingBundles(self) {
  return {
    name: 'nrcert-siblings',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, (args) => {
        const other = SPECIFIERS.get(args.path);
        if (other && other !== self && args.importer && !PRIVATE.has(other)) return { path: `./${other}.js`, external: true };
        return undefined;
      });
    },
  };
}

/** Bundles every vendor entry into `dir`; returns the package folders that went into them. */
async function bundleVendor(dir) {
  const esbuild = require('esbuild');
  fs.mkdirSync(dir, { recursive: true });
  const packages = new Set();
  const rewritten = new Set();
  for (const [name, v] of Object.entries(VENDOR)) {
    const result = await esbuild.build({
      stdin: { contents: entrySource(v), resolveDir: ROOT, sourcefile: `vendor-${name}.js`, loader: 'js' },
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      outfile: path.join(dir, `${name}.js`),
      // Whitespace and syntax only, so identifiers (and so error class names) stay readable; the
      // libraries whose names nrcert never shows (crypto, PKCS#12) are minified whole.
      minifyWhitespace: true,
      minifySyntax: true,
      minifyIdentifiers: SMALL.has(name),
      legalComments: 'none',
      metafile: true,
      logLevel: 'error',
      plugins: [siblingBundles(name), lazyRequires(rewritten)],
    });
    for (const input of Object.keys(result.metafile.inputs)) {
      const m = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
      if (m) packages.add(path.resolve(ROOT, m[1]));
    }
  }
  checkAllRewritten(rewritten);
  return [...packages].sort();
}

/** The licence texts of every bundled package, one after the other (they all ask to be kept). */
function writeLicenses(file, packages) {
  const parts = packages.map((dir) => {
    const { name, version, license } = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    const text = fs.readdirSync(dir).find((f) => /^(licen[cs]e|copying)/i.test(f));
    return `## ${name}@${version} (${license ?? 'see package'})\n\n${text ? fs.readFileSync(path.join(dir, text), 'utf8').trim() : '(no licence file shipped)'}\n`;
  });
  fs.writeFileSync(file, `Bundled into vendor/ by deploy/package/build.js.\n\n${parts.join('\n')}`);
}

/** Rewrites the compiled code's requires of runtime dependencies to the vendor bundles. */
function rewriteRequires(distDir, vendorDir) {
  const unknown = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.name.endsWith('.js')) rewriteFile(file);
    }
  };
  const rewriteFile = (file) => {
    const source = fs.readFileSync(file, 'utf8');
    const out = source.replace(REQUIRE, (all, how, quote, spec) => {
      if (spec.startsWith('.') || BUILTINS.has(spec)) return all;
      const bundle = SPECIFIERS.get(spec);
      if (!bundle) {
        unknown.push(`${path.relative(path.dirname(distDir), file)}: ${how}('${spec}')`);
        return all;
      }
      const rel = path.relative(path.dirname(file), path.join(vendorDir, `${bundle}.js`));
      return `${how}(${quote}${rel.startsWith('.') ? rel : `./${rel}`}${quote})`;
    });
    if (out !== source) fs.writeFileSync(file, out);
  };
  walk(distDir);
  if (unknown.length) {
    throw new Error(
      `package: these requires have no vendor bundle, so the package would fail when they run:\n  ${unknown.join('\n  ')}\n` +
        `(the Cloudflare SDK must be created through src/dns/cloudflare/sdk.ts; another dependency needs an entry in VENDOR)`,
    );
  }
}

/** The package's package.json: the checkout's, without dependencies, scripts or dev tooling. */
function packageJson() {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const keep = ['name', 'version', 'description', 'license', 'private', 'type', 'bin', 'main', 'engines'];
  return { ...Object.fromEntries(keep.filter((k) => k in pkg).map((k) => [k, pkg[k]])), files: ['dist', 'vendor', 'deploy', '.env.example', 'README.md'] };
}

function copy(from, to, filter) {
  fs.cpSync(path.join(ROOT, from), to, { recursive: true, filter: filter ?? (() => true) });
}

/** Builds the package from an up-to-date dist/ into `outDir`; returns the .tgz path. */
async function buildPackage(outDir = ROOT) {
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'nrcert-package-'));
  try {
    copy('dist', path.join(stage, 'dist'));
    // deploy/package is this build; the package does not need it. deploy/node-red (the Node-RED
    // package `settings --apply --editor-plugin` installs offline) goes in as it is, without a
    // node_modules a developer may have made in it.
    copy('deploy', path.join(stage, 'deploy'), (src) => !src.startsWith(path.join(ROOT, 'deploy', 'package')) && path.basename(src) !== 'node_modules');
    copy('.env.example', path.join(stage, '.env.example'));
    copy('README.md', path.join(stage, 'README.md'));
    const vendor = path.join(stage, 'vendor');
    writeLicenses(path.join(vendor, 'LICENSES.txt'), await bundleVendor(vendor));
    rewriteRequires(path.join(stage, 'dist'), vendor);
    packFolders(path.join(stage, 'dist'));
    const pkg = packageJson();
    fs.writeFileSync(path.join(stage, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
    fs.mkdirSync(outDir, { recursive: true });
    const out = execFileSync('npm', ['pack', '--json', '--pack-destination', path.resolve(outDir)], { cwd: stage, encoding: 'utf8' });
    return path.join(path.resolve(outDir), JSON.parse(out)[0].filename);
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

/** `prepare`: build with tsc, or say why not when TypeScript is absent (`npm ci --omit=dev`). */
function prepare() {
  try {
    require.resolve('typescript', { paths: [ROOT] });
  } catch {
    process.stderr.write('nrcert: TypeScript is not installed (dev dependencies omitted), so the build is skipped; on a Pi install the package instead: `npm run package` on any machine, then `npm install -g ./nrcert-<version>.tgz` (see README "Install")\n');
    return;
  }
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
}

module.exports = { buildPackage, bundleVendor, VENDOR };

if (require.main === module) {
  if (process.argv.includes('--prepare')) {
    prepare();
  } else {
    const at = process.argv.indexOf('--out');
    buildPackage(at > 0 ? process.argv[at + 1] : ROOT).then(
      (tgz) => process.stdout.write(`${path.relative(process.cwd(), tgz) || tgz}\n`),
      (err) => {
        process.stderr.write(`${err.message}\n`);
        process.exitCode = 1;
      },
    );
  }
}

/**
 * The Node-RED releases the tests run against, both installed from devDependencies:
 * `node-red` (4.x, Node ≥ 18.5) and `node-red-5` (an alias of `npm:node-red@~5.0`, Node ≥ 22.9).
 *
 * A test file runs its Node-RED cases once per release that the running Node can start
 * (`describe.each(nodeRedReleases(__filename))`). A release the running Node is too old for is
 * not defined at all (so it never counts as passed) and one line on stderr says so; a release
 * the running Node *can* start but that is not installed fails the file instead of shrinking it.
 * `.ci/run` runs the suite on Node 20, 22 and 24, so every release runs somewhere.
 */
import { readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';

const NODE_MODULES = join(resolve(__dirname, '..', '..'), 'node_modules');

/** The devDependency names of the Node-RED releases, oldest first. */
const PACKAGES = ['node-red', 'node-red-5'] as const;

/** One installed Node-RED release. */
export interface NodeRedRelease {
  /** "Node-RED 5.0.7": what test titles show. */
  name: string;
  /** Its version from its package.json, e.g. "5.0.7". */
  version: string;
  major: number;
  /** node_modules/<package>: red.js and the default settings.js live here. */
  dir: string;
  /** The lowest Node its `engines.node` accepts, e.g. [22, 9, 0]. */
  minNode: [number, number, number];
}

/** Parses `>=X[.Y[.Z]]`, the only engines form Node-RED uses; anything else is a test failure to look at. */
function minimumNode(range: string, pkg: string): [number, number, number] {
  const m = /^>=\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(range.trim());
  if (!m) throw new Error(`${pkg}: engines.node "${range}" is not ">=X.Y.Z"; teach test/helpers/nodered-releases.ts to read it`);
  return [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)];
}

function atLeast(have: string, want: [number, number, number]): boolean {
  const v = have.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((v[i] ?? 0) !== want[i]) return (v[i] ?? 0) > want[i];
  return true;
}

function readRelease(pkg: string): NodeRedRelease | { pkg: string; missing: true } {
  const dir = join(NODE_MODULES, pkg);
  let manifest: { name?: string; version: string; engines?: { node?: string } };
  try {
    manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as typeof manifest;
  } catch {
    return { pkg, missing: true };
  }
  if (manifest.name !== 'node-red') throw new Error(`node_modules/${pkg} is ${manifest.name}, not node-red`);
  return {
    name: `Node-RED ${manifest.version}`,
    version: manifest.version,
    major: Number(manifest.version.split('.')[0]),
    dir,
    minNode: minimumNode(manifest.engines?.node ?? '>=0', pkg),
  };
}

/** Node-RED 4, the release the tests that do not take one use. */
export function defaultNodeRed(): NodeRedRelease {
  const release = readRelease(PACKAGES[0]);
  if ('missing' in release) throw new Error('node_modules/node-red is missing: run npm ci');
  return release;
}

/**
 * The releases the running Node can start, for `describe.each`. `testFile` (pass `__filename`)
 * names the file in the one-line note about a release left out. Throws when a release is not
 * installed: 5 is required from Node 22.9 on, and Node-RED 5's engines cannot be read without it.
 */
export function nodeRedReleases(testFile: string): NodeRedRelease[] {
  const runnable: NodeRedRelease[] = [];
  for (const pkg of PACKAGES) {
    const release = readRelease(pkg);
    if ('missing' in release) throw new Error(`node_modules/${pkg} is missing: run npm ci (it is a devDependency)`);
    if (atLeast(process.versions.node, release.minNode)) {
      runnable.push(release);
    } else {
      process.stderr.write(`${basename(testFile)}: ${release.name} cases not defined on Node ${process.versions.node} (it needs >= ${release.minNode.join('.')}); .ci/run runs them on Node 22 and 24\n`);
    }
  }
  return runnable;
}

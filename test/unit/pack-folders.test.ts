/**
 * deploy/package/pack-folders.js on a small dist/: the modules the idle service runs go into
 * resident-modules.js, every other module into its folder's modules.js, each loads once through
 * the loader and requires across packs resolve; a RESIDENT name that is no module stops the build.
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { makeTempDir, removeTempDir } from '../helpers/tmp';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { packFolders } = require('../../deploy/package/pack-folders.js') as { packFolders(distDir: string): number };

/** The modules the resident pack lists (read from the build script, not copied here). */
const RESIDENT = [...readFileSync(join(__dirname, '..', '..', 'deploy', 'package', 'pack-folders.js'), 'utf8').match(/const RESIDENT = \[([^\]]*)\]/)![1]!.matchAll(/'([^']+)'/g)].map((m) => m[1]!);

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir('pack');
});
afterEach(async () => {
  await removeTempDir(dir);
});

/** dist/<id>.js for each id: `exports.id` is its id; cli/run also requires a non-resident module. */
function writeDist(ids: string[]): string {
  const dist = join(dir, 'dist');
  for (const id of ids) {
    mkdirSync(dirname(join(dist, id)), { recursive: true });
    // Requires across packs, both ways: a resident module a folder's, a folder's a resident one.
    const body = id === 'cli/run' ? "exports.other = require('../acme/issuer').id;\n" : id === 'acme/issuer' ? "exports.lock = require('../store/lock');\n" : '';
    writeFileSync(join(dist, `${id}.js`), `"use strict";\nexports.id = ${JSON.stringify(id)};\nexports.loads = (globalThis.__loads = (globalThis.__loads || 0) + 1);\n${body}`);
  }
  return dist;
}

test('the resident modules are packed together, the others by folder, and each loads once', () => {
  expect(RESIDENT.length).toBeGreaterThan(20);
  const dist = writeDist([...RESIDENT, 'acme/issuer', 'acme/order']);
  expect(packFolders(dist)).toBe(RESIDENT.length + 2);
  const resident = readFileSync(join(dist, 'resident-modules.js'), 'utf8');
  for (const id of RESIDENT) expect(resident).toContain(`${JSON.stringify(id)}: function`);
  expect(resident).not.toContain('"acme/issuer": function');
  expect(readFileSync(join(dist, 'acme', 'modules.js'), 'utf8')).toMatch(/"issuer": function[\s\S]*"order": function/);
  // No folder pack is written for folders all of whose modules are resident, and no module file is left.
  expect(existsSync(join(dist, 'cli', 'modules.js')) || existsSync(join(dist, 'cli', 'run.js'))).toBe(false);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const requireFrom = (require(join(dist, 'modules-loader.js')) as { requireFrom(dir: string): (spec: string) => Record<string, unknown> }).requireFrom;
  const run = requireFrom(dist)('./cli/run');
  expect(run).toMatchObject({ id: 'cli/run', other: 'acme/issuer' });
  expect(requireFrom(join(dist, 'store'))('../cli/run')).toBe(run);
  expect(requireFrom(dist)('./acme/issuer')).toMatchObject({ id: 'acme/issuer', loads: 2 });
  expect(requireFrom(dist)('./acme/issuer').lock).toBe(requireFrom(join(dist, 'cli'))('../store/lock'));
  expect(requireFrom(dist)('./store/lock')).toMatchObject({ id: 'store/lock', loads: 3 });
});

test('a RESIDENT name that dist/ does not have stops the build, naming it', () => {
  const dist = writeDist(RESIDENT.filter((id) => id !== 'store/lock'));
  expect(() => packFolders(dist)).toThrow(/RESIDENT names store\/lock, which dist\/ does not have/);
});

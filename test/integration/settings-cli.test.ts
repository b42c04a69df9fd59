/**
 * `nrcert settings` and `nrcert settings --apply`, run as the built CLI with HOME and the working
 * directory in a scratch folder: what it prints, its exit codes, and what it does to settings.js.
 */
import { copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI_HINT, runCli, type CliResult } from '../helpers/cli';
import { nodeRedReleases, type NodeRedRelease } from '../helpers/nodered-releases';
import { makeTempDir, removeTempDir } from '../helpers/tmp';

const RELEASES = nodeRedReleases(__filename);

let dir: string;
let certDir: string;
beforeAll(async () => {
  dir = await makeTempDir('settings-cli');
  certDir = join(dir, 'certs dir "quoted"');
});
afterAll(() => removeTempDir(dir));

function nrcert(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return runCli(args, { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, CERT_DIR: certDir, ...env }, dir);
}

/** A folder holding a copy of `release`'s default settings.js (Node-RED 4's when absent), or of `text`. */
function userDir(name: string, text?: string, release: NodeRedRelease = RELEASES[0]): string {
  const folder = join(dir, name);
  mkdirSync(folder);
  if (text === undefined) copyFileSync(join(release.dir, 'settings.js'), join(folder, 'settings.js'));
  else writeFileSync(join(folder, 'settings.js'), text);
  return folder;
}

describe('nrcert settings', () => {
  test('prints the block for the absolute CERT_DIR, and explains requireHttps on stderr', async () => {
    const result = await nrcert(['settings', '--refresh-minutes', '0.5']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^ {4}\/\/ nrcert: begin/);
    expect(result.stdout).toContain(`let dir = ${JSON.stringify(certDir)};`);
    expect(result.stdout).toContain('httpsRefreshInterval: 0.5 / 60, // hours');
    expect(result.stdout.trimEnd()).toMatch(/\/\/ nrcert: end$/);
    expect(result.stderr).toMatch(/requireHttps only redirects requests that arrive as plain HTTP through a proxy/);
  });

  test('refuses a bad --refresh-minutes and --settings without --apply (exit 2)', async () => {
    for (const args of [['settings', '--refresh-minutes', 'soon'], ['settings', '--refresh-minutes', '0'], ['settings', '--settings', 'x.js']]) {
      const result = await nrcert(args);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
    }
  });
});

describe('nrcert settings --apply', () => {
  test.each(RELEASES)('edits $name\'s default settings.js once, backs it up, warns that no certificate is installed yet; a second run changes nothing', async (release) => {
    const folder = userDir(`apply-twice-${release.version}`, undefined, release);
    const path = join(folder, 'settings.js');
    const original = readFileSync(path, 'utf8');
    const first = await nrcert(['settings', '--apply', '--settings', path]);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/Backed up .*settings\.js to .*settings\.js\.nrcert-backup-\d{8}T\d{6}Z/);
    expect(first.stderr).toMatch(new RegExp(`Node-RED will not start with these settings until \`${CLI_HINT} renew\``));
    const edited = readFileSync(path, 'utf8');
    expect(edited).toContain(`let dir = ${JSON.stringify(certDir)};`);
    expect(edited.replace(/ {4}\/\/ nrcert: begin[\s\S]*\/\/ nrcert: end\n/, '')).toBe(original);

    const second = await nrcert(['settings', '--apply', '--settings', path]);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/already applied/);
    expect(readFileSync(path, 'utf8')).toBe(edited);
    expect(readdirSync(folder).filter((n) => n.includes('nrcert-backup'))).toHaveLength(1);
  });

  test('finds settings.js through NODE_RED_USER_DIR, and updates the block for another interval', async () => {
    const folder = userDir('user-dir');
    const first = await nrcert(['settings', '--apply'], { NODE_RED_USER_DIR: folder });
    expect(first.code).toBe(0);
    const again = await nrcert(['settings', '--apply', '--refresh-minutes=5'], { NODE_RED_USER_DIR: folder });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/Updated the nrcert block/);
    expect(readFileSync(join(folder, 'settings.js'), 'utf8')).toContain('httpsRefreshInterval: 5 / 60, // hours');
  });

  test('refuses a file it cannot follow (exit 8) and leaves it untouched', async () => {
    const text = 'module.exports = {\n    uiPort: 1880,\n    https: {\n';
    const folder = userDir('broken', text);
    const result = await nrcert(['settings', '--apply', '--settings', join(folder, 'settings.js')]);
    expect(result.code).toBe(8);
    expect(result.stderr).toContain(join(folder, 'settings.js'));
    expect(result.stderr).toMatch(new RegExp(`paste the lines printed by \`${CLI_HINT} settings\``));
    expect(readFileSync(join(folder, 'settings.js'), 'utf8')).toBe(text);
    expect(readdirSync(folder)).toEqual(['settings.js']);
  });

  test('says where it looked when there is no settings.js (exit 2)', async () => {
    const result = await nrcert(['settings', '--apply']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(join(dir, '.node-red', 'settings.js'));
  });
});

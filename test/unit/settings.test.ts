/**
 * The settings.js block, the scanner that finds module.exports' properties, and `--apply` on real
 * files: Node-RED's own default settings.js, a static https object, files it must refuse. The
 * results are loaded in a child node process, as Node-RED loads them.
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync, chownSync, lchownSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { InstallError, UsageError } from '../../src/errors';
import { findExportsObject } from '../../src/nodered/settings-edit';
import { matchBrackets, ScanError, tokenize } from '../../src/nodered/js-scan';
import { applySettings, settingsBlock, settingsPathFor, type ApplyOptions } from '../../src/nodered/settings';

const DEFAULT_SETTINGS = join(__dirname, '..', '..', 'node_modules', 'node-red', 'settings.js');
const NOW = new Date('2026-11-23T07:15:10.123Z');

let dir: string;
let certDir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'nrcert-settings-'));
  certDir = join(dir, 'certs');
  makeCertDir(certDir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A CERT_DIR as nrcert installs it: .nrcert/L1/*.pem, current -> .nrcert/L1, name -> current/name. */
function makeCertDir(root: string, keyFrom?: string): void {
  const lineage = join(root, '.nrcert', 'L1');
  mkdirSync(lineage, { recursive: true });
  const openssl = (keyout: string, out: string) =>
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30',
      '-subj', '/CN=localhost', '-keyout', keyout, '-out', out], { stdio: 'ignore' });
  openssl(join(lineage, 'privkey.pem'), join(lineage, 'cert.pem'));
  if (keyFrom) openssl(join(lineage, 'privkey.pem'), join(lineage, 'other-cert.pem'));
  writeFileSync(join(lineage, 'fullchain.pem'), readFileSync(join(lineage, 'cert.pem')));
  writeFileSync(join(lineage, 'chain.pem'), '');
  symlinkSync(join('.nrcert', 'L1'), join(root, 'current'));
  for (const name of ['privkey.pem', 'fullchain.pem', 'cert.pem', 'chain.pem']) symlinkSync(join('current', name), join(root, name));
}

/** A fresh folder holding `settings.js` with `text`; returns the file's path. */
function settingsFile(text: string, name = 'settings.js'): string {
  const folder = mkdtempSync(join(dir, 'user-'));
  writeFileSync(join(folder, name), text);
  return join(folder, name);
}

function apply(settingsPath: string, more: Partial<ApplyOptions> = {}) {
  return applySettings({ settingsPath, certDir, refreshMinutes: 1, now: NOW, ...more });
}

/** Loads a settings file in a child node, as Node-RED does, and calls https() when it is a function. */
function loadInNode(file: string): { https: string; refresh: number; requireHttps: boolean; key?: string; cert?: string } {
  const script = `const s = require(process.argv[1]);
    const o = typeof s.https === "function" ? s.https() : {};
    console.log(JSON.stringify({ https: typeof s.https, refresh: s.httpsRefreshInterval, requireHttps: s.requireHttps,
      key: o.key && o.key.toString(), cert: o.cert && o.cert.toString() }));`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script, file], { encoding: 'utf8' })) as ReturnType<typeof loadInNode>;
}

/** The error `promise` rejects with (fails the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('settingsBlock', () => {
  it('puts the absolute CERT_DIR in as a JSON string, so quotes and backslashes survive', () => {
    const weird = '/srv/node "red"\\certs';
    const block = settingsBlock({ certDir: weird, refreshMinutes: 1 });
    expect(block).toContain(`let dir = ${JSON.stringify(weird)};`);
    const read: string[] = [];
    const fakeFs = { realpathSync: () => { throw new Error('no current'); }, readFileSync: (p: string) => read.push(p) };
    const context = { require: (m: string) => (m === 'fs' ? fakeFs : require(m)) };
    const settings = runInNewContext(`({\n${block}})`, context) as { https: () => unknown; httpsRefreshInterval: number; requireHttps: boolean };
    settings.https();
    expect(read).toEqual([join(weird, 'privkey.pem'), join(weird, 'fullchain.pem')]);
    expect(settings.httpsRefreshInterval).toBeCloseTo(1 / 60, 12);
    expect(settings.requireHttps).toBe(true);
  });

  it('gives the refresh interval in hours with a comment in minutes, and explains requireHttps', () => {
    const block = settingsBlock({ certDir: '/c', refreshMinutes: 0.06 });
    expect(block).toContain('httpsRefreshInterval: 0.06 / 60, // hours');
    expect(block).toContain('every 0.06 minutes');
    expect(block).toMatch(/requireHttps only redirects requests that reach Node-RED as plain HTTP through a proxy/);
    expect((runInNewContext(`({\n${block}})`) as { httpsRefreshInterval: number }).httpsRefreshInterval).toBeCloseTo(0.001, 12);
  });

  it('is whole lines between the begin and end markers, indented as asked', () => {
    const lines = settingsBlock({ certDir: '/c', refreshMinutes: 1 }, '\t', '\r\n').split('\r\n');
    expect(lines[0]).toMatch(/^\t\/\/ nrcert: begin/);
    expect(lines[lines.length - 2]).toBe('\t// nrcert: end');
    expect(lines[lines.length - 1]).toBe('');
  });
});

describe('the scanner', () => {
  const keys = (source: string) => findExportsObject(source).properties.map((p) => p.key);

  it('skips braces in strings, comments, template literals and regex literals', () => {
    const source = [
      'const open = "{", close = \'}\', both = "\\"{";',
      '/* module.exports = { https: { */',
      'const t = `a ${ { b: `}${"{"}` }.b } {`;',
      'const re = /[}{]\\/{/g, half = 10 / 2 / 5;',
      'module.exports = {',
      '    // https: {',
      '    /* requireHttps: true, } */',
      '    a: "}{",',
      "    'b': `${ `${'}'}` }`,",
      '    c: /}/.test(x) ? [1, { d: 2 }] : (3),',
      '    get e() { return /{/; },',
      '    f,',
      '    ...g,',
      '    [h]: 1,',
      '};',
    ].join('\n');
    expect(keys(source)).toEqual(['a', 'b', 'c', 'e', 'f', null, null]);
    const object = findExportsObject(source);
    expect(object.comments.map((c) => c.text)).toEqual(['// https: {', '/* requireHttps: true, } */']);
    expect(source.slice(object.close)).toBe('};');
  });

  it('tells a regex after an operator or keyword from a division after a value', () => {
    const kinds = (s: string) => tokenize(s).filter((t) => t.kind === 'regex' || t.text === '/').map((t) => t.kind);
    expect(kinds('x = a / b / c')).toEqual(['op', 'op']);
    expect(kinds('x = /a/ + (b) / 2')).toEqual(['regex', 'op']);
    expect(kinds('return /}/')).toEqual(['regex']);
  });

  it.each([
    ['module.exports = { a: {', /never closed/],
    ['module.exports = { a: 1 ]', /unbalanced "]"/],
    ['module.exports = { a: "1 }', /string at line 1 is not closed/],
    ['module.exports = { a: `${1 }', /template literal/],
    ['module.exports = { a: 1 } /* x', /comment at line 1 is not closed/],
    ['exports.a = 1;', /found 0 assignments to module.exports/],
    ['module.exports = {};\nmodule.exports = {};', /found 2 assignments/],
    ['module.exports = require("./other");', /not set to an object literal/],
    ['if (x) { module.exports = {}; }', /not at the top level/],
  ])('refuses %j', (source, message) => {
    expect(() => findExportsObject(source)).toThrow(ScanError);
    expect(() => findExportsObject(source)).toThrow(message);
  });

  it('matches every bracket of a balanced file', () => {
    const tokens = tokenize('f({ a: [1, (2)] })');
    const pairs = [...matchBrackets('', tokens).entries()].map(([o, c]) => `${tokens[o].start}${tokens[o].text}${tokens[c].text}`);
    expect(pairs).toEqual(['11()', '7[]', '2{}', '1()']);
  });
});

describe('applySettings', () => {
  it('inserts only the block into a copy of Node-RED\'s default settings.js, which then serves the installed files', async () => {
    const original = readFileSync(DEFAULT_SETTINGS, 'utf8');
    const path = settingsFile(original);
    chmodSync(path, 0o640);
    const result = await apply(path);
    expect(result).toMatchObject({ path, changed: true, replaced: false, removed: [], certificatePresent: true });
    const at = original.indexOf('module.exports = {\n') + 'module.exports = {\n'.length;
    const edited = readFileSync(path, 'utf8');
    expect(edited).toBe(original.slice(0, at) + settingsBlock({ certDir, refreshMinutes: 1 }) + original.slice(at));
    expect(statSync(path).mode & 0o777).toBe(0o640);
    expect(result.backupPath).toBe(`${path}.nrcert-backup-20261123T071510Z`);
    expect(readFileSync(result.backupPath!, 'utf8')).toBe(original);

    const loaded = loadInNode(path);
    expect(loaded).toMatchObject({ https: 'function', requireHttps: true });
    expect(loaded.refresh).toBeCloseTo(1 / 60, 12);
    expect(loaded.key).toBe(readFileSync(join(certDir, '.nrcert', 'L1', 'privkey.pem'), 'utf8'));
    expect(loaded.cert).toBe(readFileSync(join(certDir, '.nrcert', 'L1', 'fullchain.pem'), 'utf8'));
    expect(readdirSync(join(path, '..')).sort()).toEqual(['settings.js', 'settings.js.nrcert-backup-20261123T071510Z']);
  });

  it('changes nothing and makes no backup when applied twice; another interval updates the block only', async () => {
    const original = readFileSync(DEFAULT_SETTINGS, 'utf8');
    const path = settingsFile(original);
    await apply(path);
    const once = readFileSync(path);
    const again = await apply(path, { now: new Date(NOW.getTime() + 60_000) });
    expect(again).toMatchObject({ changed: false, backupPath: null });
    expect(readFileSync(path).equals(once)).toBe(true);
    expect(readdirSync(join(path, '..'))).toHaveLength(2);

    const updated = await apply(path, { refreshMinutes: 0.06 });
    expect(updated).toMatchObject({ changed: true, replaced: true, removed: [] });
    expect(updated.backupPath).toBe(`${path}.nrcert-backup-20261123T071510Z-2`);
    const at = original.indexOf('module.exports = {\n') + 'module.exports = {\n'.length;
    expect(readFileSync(path, 'utf8')).toBe(original.slice(0, at) + settingsBlock({ certDir, refreshMinutes: 0.06 }) + original.slice(at));
    expect(loadInNode(path).refresh).toBeCloseTo(0.001, 12);
  });

  it('replaces an active static https object and removes requireHttps, leaving comments and the rest alone', async () => {
    const head = 'const fs = require("fs");\nmodule.exports = {\n    uiPort: 1880, // the port\n';
    const https = '    https: {\n        key: fs.readFileSync("/old/privkey.pem"),\n        cert: fs.readFileSync("/old/cert.pem")\n    },\n';
    const middle = '    // requireHttps: false,\n    /* https: { */\n';
    const tail = '    flowFile: "flows.json",\n};\n';
    const path = settingsFile(head + https + middle + '    requireHttps: false, // later\n' + tail);
    const result = await apply(path);
    expect(result).toMatchObject({ changed: true, replaced: false, removed: ['https', 'requireHttps'] });
    expect(readFileSync(path, 'utf8')).toBe(head + settingsBlock({ certDir, refreshMinutes: 1 }) + middle + tail);
    expect(loadInNode(path)).toMatchObject({ https: 'function', requireHttps: true });
  });

  it('keeps the indentation and CRLF line ends of the file', async () => {
    const path = settingsFile('module.exports = {\r\n\tuiPort: 1880,\r\n\thttpsRefreshInterval: 12\r\n}\r\n');
    await apply(path);
    expect(readFileSync(path, 'utf8')).toBe(
      `module.exports = {\r\n${settingsBlock({ certDir, refreshMinutes: 1 }, '\t', '\r\n')}\tuiPort: 1880,\r\n}\r\n`,
    );
  });

  it('edits the target of a symlinked settings.js and keeps the link', async () => {
    const target = settingsFile('module.exports = { uiPort: 1880 };\n');
    const link = join(dir, `link-${Date.now()}.js`);
    symlinkSync(target, link);
    const result = await apply(link);
    expect(result.path).toBe(target);
    expect(loadInNode(link).https).toBe('function');
    expect(readFileSync(target, 'utf8')).toContain('// nrcert: end\n uiPort: 1880 };\n');
  });

  it.each([
    ['an unbalanced object', 'module.exports = { a: {\n', /never closed/],
    ['no module.exports', 'exports.uiPort = 1880;\n', /found 0 assignments to module.exports/],
    ['a syntax error elsewhere', 'module.exports = { a: 1 };\nlet let = 1;\n', /fails node --check/],
    ['https set again below', 'module.exports = {};\nmodule.exports.https = { key: "k" };\n', /settings.https is object/],
  ])('refuses %s and leaves the file untouched', async (_, text, message) => {
    const path = settingsFile(text);
    const err = await rejection(apply(path));
    expect(err).toBeInstanceOf(InstallError);
    expect(err.message).toMatch(message);
    expect(err.message).toContain(path);
    expect(err.message).toMatch(/Nothing was changed; paste the lines printed by `nrcert settings`/);
    expect(readFileSync(path, 'utf8')).toBe(text);
    expect(readdirSync(join(path, '..'))).toEqual(['settings.js']);
  });

  it('refuses when CERT_DIR holds a key that does not match its certificate', async () => {
    const mismatched = join(dir, 'mismatched');
    makeCertDir(mismatched, 'other');
    const path = settingsFile('module.exports = {};\n');
    const err = await rejection(apply(path, { certDir: mismatched }));
    expect(err).toBeInstanceOf(InstallError);
    expect(err.message).toMatch(/settings.https\(\) failed: .*key values mismatch/);
    expect(readdirSync(join(path, '..'))).toEqual(['settings.js']);
  });

  it('writes the block without calling https() when no certificate is installed yet', async () => {
    const path = settingsFile('module.exports = {};\n');
    const result = await apply(path, { certDir: join(dir, 'empty') });
    expect(result).toMatchObject({ changed: true, certificatePresent: false });
    expect(readFileSync(path, 'utf8')).toBe(`module.exports = {${'\n'}${settingsBlock({ certDir: join(dir, 'empty'), refreshMinutes: 1 })}};\n`);
  });

  it('removes the temporary files a killed --apply left beside settings.js, and only those', async () => {
    const path = settingsFile('module.exports = {};\n');
    const folder = join(path, '..');
    const leftovers = ['.settings.js.0a1b2c3d.tmp.js', '.settings.js.ffffffff.tmp.js'];
    const kept = ['.settings.js.0a1b2c3.tmp.js', '.settings.js.0a1b2c3d.tmp', '.other.js.0a1b2c3d.tmp.js', 'settings.js.0a1b2c3d.tmp.js'];
    for (const name of [...leftovers, ...kept]) writeFileSync(join(folder, name), 'module.exports = { half');
    symlinkSync(join(dir, 'elsewhere.js'), join(folder, '.settings.js.abcdef12.tmp.js')); // a link is never ours
    kept.push('.settings.js.abcdef12.tmp.js');
    if (process.getuid?.() === 0) {
      // Someone else's file with our name pattern is not ours either.
      writeFileSync(join(folder, '.settings.js.12345678.tmp.js'), 'x');
      chownSync(join(folder, '.settings.js.12345678.tmp.js'), 4321, 4321);
      kept.push('.settings.js.12345678.tmp.js');
    }
    const result = await apply(path);
    expect(result.changed).toBe(true);
    expect(result.leftoversRemoved.sort()).toEqual(leftovers.map((n) => join(folder, n)).sort());
    expect(readdirSync(folder).sort()).toEqual(['settings.js', 'settings.js.nrcert-backup-20261123T071510Z', ...kept].sort());
    // Also when there is nothing to change.
    writeFileSync(join(folder, leftovers[0]), 'x');
    expect((await apply(path)).leftoversRemoved).toEqual([join(folder, leftovers[0])]);
  });

  it('says where it looked when there is no settings file', async () => {
    const err = await rejection(apply(join(dir, 'nowhere', 'settings.js')));
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toMatch(/no settings file at .*nowhere\/settings.js/);
  });
});

(process.getuid?.() === 0 ? describe : describe.skip)('applySettings as root in a Node-RED directory owned by someone else', () => {
  it('settings.js as a link to a root-owned file elsewhere: refused, that file and its folder unchanged', async () => {
    chmodSync(dir, 0o755);
    const rootFolder = mkdtempSync(join(dir, 'root-app-'));
    chmodSync(rootFolder, 0o755);
    const target = join(rootFolder, 'config.js');
    writeFileSync(target, readFileSync(DEFAULT_SETTINGS), { mode: 0o644 });
    const userFolder = mkdtempSync(join(dir, 'pi-'));
    chmodSync(userFolder, 0o755);
    chownSync(userFolder, 4242, 4242);
    symlinkSync(target, join(userFolder, 'settings.js'));
    lchownSync(join(userFolder, 'settings.js'), 4242, 4242);
    await expect(apply(join(userFolder, 'settings.js'))).rejects.toThrow(InstallError);
    expect(readFileSync(target)).toEqual(readFileSync(DEFAULT_SETTINGS));
    expect(readdirSync(rootFolder)).toEqual(['config.js']);
  });

  it('a settings.js of that user is edited as that user: the new file and the backup are theirs', async () => {
    chmodSync(dir, 0o755);
    const path = settingsFile(readFileSync(DEFAULT_SETTINGS, 'utf8'));
    chownSync(dirname(path), 4242, 4242);
    chownSync(path, 4242, 4242);
    chmodSync(dirname(path), 0o755);
    const result = await apply(path, { certDir: join(dir, 'not-installed-yet') }); // the key check is another test's
    expect([statSync(path).uid, statSync(result.backupPath!).uid]).toEqual([4242, 4242]);
  });
});

describe('settingsPathFor', () => {
  const base = { env: {}, home: '/home/pi', cwd: '/work', exists: () => false };
  it('takes --settings, then NODE_RED_USER_DIR, then /data in Docker, then ~/.node-red', () => {
    expect(settingsPathFor({ ...base, flag: 'my/settings.js', env: { NODE_RED_USER_DIR: '/x' } })).toBe('/work/my/settings.js');
    expect(settingsPathFor({ ...base, env: { NODE_RED_USER_DIR: '~/nr' } })).toBe('/home/pi/nr/settings.js');
    expect(settingsPathFor({ ...base, exists: (p) => ['/.dockerenv', '/data/settings.js'].includes(p) })).toBe('/data/settings.js');
    expect(settingsPathFor({ ...base, exists: (p) => p === '/.dockerenv' })).toBe('/home/pi/.node-red/settings.js');
    expect(settingsPathFor(base)).toBe('/home/pi/.node-red/settings.js');
  });
});

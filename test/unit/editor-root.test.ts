/**
 * The editor folder run as root (src/editor/folder.ts, spool.ts): root must never let the user
 * who owns CERT_DIR (uid 4242 here, group 4243 = "the group that reads privkey.pem") read or
 * change what they could not before. Links they plant under the published names, in the spool
 * or instead of the folder itself lead nowhere; everything nrcert creates belongs to them.
 * Root-only tests are skipped for other users.
 */
import { chmodSync, chownSync, existsSync, lchownSync, lstatSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InstallError } from '../../src/errors';
import { ensureEditorFolder, requestsDir, writeEditorFile, type EditorFolder } from '../../src/editor/folder';
import { takeRequests } from '../../src/editor/spool';
import { readEditorJson } from '../../src/editor/events';
import { makeTempDir, removeTempDir } from './store/pki';

const USER = 4242;
const GROUP = 4243;
const asRoot = process.getuid?.() === 0 ? describe : describe.skip;
const SECRET = 'ROOT ONLY SECRET';

let tmp: string;
let certDir: string;
let secret: string;
let folder: EditorFolder;
beforeEach(() => {
  tmp = makeTempDir('nrcert-editor-root-');
  chmodSync(tmp, 0o755);
  certDir = join(tmp, 'certs');
  mkdirSync(certDir, { mode: 0o750 });
  chownSync(certDir, USER, GROUP);
  secret = join(tmp, 'root-only.json');
  writeFileSync(secret, JSON.stringify({ version: 1, id: 'abcdefgh', action: 'renew', secret: SECRET }), { mode: 0o600 });
  folder = { dir: join(certDir, 'editor'), group: GROUP };
});
afterEach(() => removeTempDir(tmp));

function userLink(target: string, path: string): void {
  symlinkSync(target, path);
  lchownSync(path, USER, USER);
}

asRoot('the editor folder as root, in a CERT_DIR of another user', () => {
  test('is created as that user, with the key\'s group and the contract\'s modes', () => {
    ensureEditorFolder(folder);
    writeEditorFile(folder, 'status.json', { version: 1 });
    const owner = (p: string) => { const s = lstatSync(p); return { uid: s.uid, gid: s.gid, mode: s.mode & 0o7777 }; };
    expect(owner(folder.dir)).toEqual({ uid: USER, gid: GROUP, mode: 0o750 });
    expect(owner(requestsDir(folder))).toEqual({ uid: USER, gid: GROUP, mode: 0o3770 });
    expect(owner(join(folder.dir, 'status.json'))).toEqual({ uid: USER, gid: GROUP, mode: 0o640 });
  });

  test('a published name made a link to a root-only file is replaced, never written through or read', () => {
    ensureEditorFolder(folder);
    userLink(secret, join(folder.dir, 'events.json'));
    expect(readEditorJson(folder, 'events.json')).toBeNull();
    writeEditorFile(folder, 'events.json', { version: 1, events: [] });
    expect(readFileSync(secret, 'utf8')).toContain(SECRET);
    expect(statSync(secret).uid).toBe(0);
    expect(lstatSync(join(folder.dir, 'events.json')).isSymbolicLink()).toBe(false);
  });

  test('the folder made a link to a root-owned folder is refused, and nothing is created there', () => {
    const rootDir = join(tmp, 'root-dir');
    mkdirSync(rootDir, { mode: 0o700 });
    userLink(rootDir, folder.dir);
    expect(() => ensureEditorFolder(folder)).toThrow(InstallError);
    expect(existsSync(join(rootDir, 'requests'))).toBe(false);
    expect(statSync(rootDir).mode & 0o777).toBe(0o700);
  });

  test('a request that is a link to a root-only file is taken as a link: its content is never read, the target stays', () => {
    ensureEditorFolder(folder);
    userLink(secret, join(requestsDir(folder), 'abcdefgh.json'));
    const { taken } = takeRequests(folder, Date.now());
    expect(taken).toEqual([{ name: 'abcdefgh.json', kind: 'link', size: expect.any(Number) }]);
    expect(JSON.stringify(taken)).not.toContain(SECRET);
    expect(existsSync(join(requestsDir(folder), 'abcdefgh.json'))).toBe(false);
    expect(readFileSync(secret, 'utf8')).toContain(SECRET);
  });

  test('a request the user cannot read themselves is not read by root for them', () => {
    ensureEditorFolder(folder);
    const path = join(requestsDir(folder), 'abcdefgh.json');
    writeFileSync(path, readFileSync(secret), { mode: 0o600 }); // root's own file, 0600, in the spool
    const { taken } = takeRequests(folder, Date.now());
    expect(taken).toHaveLength(1);
    expect(taken[0].bytes).toBeUndefined();
    rmSync(path, { force: true });
  });
});

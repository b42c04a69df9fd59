/**
 * Issue 9 §1: a root run must not be a way to become root. The user who owns CERT_DIR and
 * STATE_DIR (here uid/gid 4242, no passwd entry needed) plants links to harmless root-only
 * targets the test creates; a root install, archive or state write must refuse or work as that
 * user, and leave no root-owned file behind. Root-only tests are skipped for other users.
 */
import {
  chmodSync, chownSync, existsSync, lchownSync, lstatSync, mkdirSync, readFileSync, readdirSync,
  statSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { InstallError } from '../../../src/errors';
import { asUser } from '../../../src/privilege/as-owner';
import { archiveLineage } from '../../../src/store/archive';
import { acquireLock } from '../../../src/store/lock';
import { FileCertStore } from '../../../src/store/cert-dir';
import { readState, writeState } from '../../../src/store/state';
import { CERT_FILES, type CertificateSet } from '../../../src/store/types';
import { TestPki, makeTempDir, removeTempDir } from './pki';

const USER = 4242;
const asRoot = process.getuid?.() === 0 ? describe : describe.skip;
const SECRET = 'ROOT ONLY SECRET\n';

let pki: TestPki;
let sets: CertificateSet[];
let tmp: string;
let certDir: string;
let stateDir: string;
let secret: string;

beforeAll(() => {
  pki = new TestPki();
  sets = [0, 1].map(() => pki.issueLeaf());
});
afterAll(() => pki.cleanup());
beforeEach(() => {
  tmp = makeTempDir();
  chmodSync(tmp, 0o755); // the user must be able to reach its own directories
  certDir = join(tmp, 'certs');
  stateDir = join(tmp, 'state');
  secret = join(tmp, 'root-only.pem');
  writeFileSync(secret, SECRET, { mode: 0o600 });
});
afterEach(() => removeTempDir(tmp));

/** A directory owned by the unprivileged user, as the Node-RED user's CERT_DIR would be. */
function userDir(path: string, mode = 0o750): string {
  mkdirSync(path, { recursive: true });
  chmodSync(path, mode);
  if (process.getuid?.() === 0) chownSync(path, USER, USER);
  return path;
}

/** A symlink as the user would make it (owned by them). */
function userLink(target: string, path: string): void {
  symlinkSync(target, path);
  if (process.getuid?.() === 0) lchownSync(path, USER, USER);
}

/** Every entry under `dir` (not following links) with its owner. */
function walk(dir: string): { path: string; uid: number }[] {
  const out = [{ path: dir, uid: lstatSync(dir).uid }];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = lstatSync(path);
    if (st.isDirectory()) out.push(...walk(path));
    else out.push({ path, uid: st.uid });
  }
  return out;
}

/** Every file under `dir` whose content holds the secret. */
function copiesOfSecret(dir: string): string[] {
  return walk(dir)
    .filter(({ path }) => lstatSync(path).isFile() && readFileSync(path, 'utf8').includes(SECRET.trim()))
    .map(({ path }) => path);
}

describe('importing hand-made files takes regular files only', () => {
  it.each(['privkey.pem', 'chain.pem', 'fullchain.pem', 'cert.pem'])(
    'a symlink at %s that nrcert did not make is refused and nothing is copied',
    async (name) => {
      userDir(certDir);
      userLink(secret, join(certDir, name));
      const store = new FileCertStore(certDir);
      const refused = store.install(sets[0]);
      await expect(refused).rejects.toThrow(InstallError);
      await expect(refused).rejects.toThrow(new RegExp(`${name} is a symlink`));
      expect(copiesOfSecret(certDir)).toEqual([]);
      expect(readFileSync(secret, 'utf8')).toBe(SECRET);
      expect(statSync(secret).mode & 0o777).toBe(0o600);
      expect(statSync(secret).uid).toBe(process.getuid?.());
    },
  );
});

describe('pruning the archive', () => {
  it('removes only lineage ids, never other folders', async () => {
    const archive = join(stateDir, 'archive');
    mkdirSync(join(archive, 'photos'), { recursive: true });
    mkdirSync(join(archive, 'keep-me.tmp'));
    const id = (n: number) => `2026110${n}T071500Z-abc${n}`;
    for (let n = 1; n <= 7; n++) await archiveLineage(stateDir, id(n), sets[0]);
    expect(readdirSync(archive).sort()).toEqual([id(3), id(4), id(5), id(6), id(7), 'keep-me.tmp', 'photos']);
  });
});

asRoot('as root, in directories owned by someone else', () => {
  it('.nrcert as a symlink to a root-owned folder: refused, that folder unchanged', async () => {
    userDir(certDir);
    const rootDir = join(tmp, 'root-dir');
    mkdirSync(rootDir, { mode: 0o700 });
    chmodSync(rootDir, 0o700);
    writeFileSync(join(rootDir, 'file'), 'x');
    userLink(rootDir, join(certDir, '.nrcert'));
    const refused = new FileCertStore(certDir, { owner: USER }).install(sets[0]);
    await expect(refused).rejects.toThrow(InstallError);
    await expect(refused).rejects.toThrow(/\.nrcert is a symlink/);
    const st = statSync(rootDir);
    expect([st.mode & 0o777, st.uid, st.gid]).toEqual([0o700, 0, 0]);
    expect(readdirSync(rootDir)).toEqual(['file']);
  });

  it('archive as a symlink to the user\'s own folder: refused, nothing chmodded or deleted', async () => {
    userDir(stateDir, 0o700);
    const theirs = userDir(join(tmp, 'their-stuff'), 0o755);
    const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g', '20260101T000000Z-abc'];
    for (const name of names) userDir(join(theirs, name), 0o755);
    userLink(theirs, join(stateDir, 'archive'));
    const refused = archiveLineage(stateDir, '20261123T071500Z-abc123', sets[0]);
    await expect(refused).rejects.toThrow(InstallError);
    await expect(refused).rejects.toThrow(/archive is a symlink/);
    expect(statSync(theirs).mode & 0o777).toBe(0o755);
    expect(readdirSync(theirs).sort()).toEqual([...names].sort());
  });

  it('a state file that is a symlink to a root-only file is neither read nor replaced through', async () => {
    userDir(stateDir, 0o700);
    const path = join(stateDir, 'renewal-state.json');
    writeFileSync(secret, '{"secret":"root only"}\n', { mode: 0o600 });
    userLink(secret, path);
    await expect(readState(path, {})).rejects.toThrow(InstallError);
    await writeState(path, { ok: true });
    expect(readFileSync(secret, 'utf8')).toBe('{"secret":"root only"}\n');
    expect(lstatSync(path).uid).toBe(USER);
  });

  it('install, archive and state writes leave no root-owned file in CERT_DIR or STATE_DIR', async () => {
    userDir(certDir);
    userDir(stateDir, 0o700);
    const store = new FileCertStore(certDir);
    const { id } = await store.install(sets[0]);
    await store.install(sets[1]);
    await archiveLineage(stateDir, id, sets[0]);
    await writeState(join(stateDir, 'renewal-state.json'), { failures: 0 });
    await writeState(join(stateDir, 'sub', 'deeper.json'), { made: 'with its folder' });
    expect(await readState(join(stateDir, 'renewal-state.json'), {})).toEqual({ failures: 0 });
    const rootOwned = [...walk(certDir), ...walk(stateDir)].filter((e) => e.uid !== USER);
    expect(rootOwned).toEqual([]);
    expect(statSync(join(certDir, 'privkey.pem')).mode & 0o777).toBe(0o600);
    expect(statSync(join(stateDir, 'archive', id, 'privkey.pem')).mode & 0o777).toBe(0o600);
    for (const name of CERT_FILES) expect(readFileSync(join(certDir, name), 'utf8')).toBe(sets[1][key(name)]);
  });

  it('CERT_DIR as a link (in the user\'s folder) to a root-owned folder: root does not act as root there', async () => {
    const home = userDir(join(tmp, 'home-pi'), 0o755);
    const rootDir = join(tmp, 'etc-like');
    mkdirSync(rootDir, { mode: 0o755 });
    chmodSync(rootDir, 0o755);
    writeFileSync(join(rootDir, 'privkey.pem'), SECRET, { mode: 0o600 });
    userLink(rootDir, join(home, 'certs'));
    await expect(new FileCertStore(join(home, 'certs')).install(sets[0])).rejects.toThrow(InstallError);
    expect(readdirSync(rootDir)).toEqual(['privkey.pem']);
    expect(lstatSync(join(rootDir, 'privkey.pem')).isFile()).toBe(true);
    expect(readFileSync(join(rootDir, 'privkey.pem'), 'utf8')).toBe(SECRET);
  });

  it('a root-owned CERT_DIR inside the user\'s folder (an older root init) is refused with the chown fix', async () => {
    const home = userDir(join(tmp, 'home-pi'), 0o755);
    mkdirSync(join(home, 'certs'), { mode: 0o755 });
    await expect(new FileCertStore(join(home, 'certs')).install(sets[0])).rejects.toThrow(
      `CERT_DIR ${join(home, 'certs')} belongs to root (uid 0), inside a folder of uid 4242, who could replace it; ` +
        `root works there only as uid 4242: sudo chown -R 4242: ${join(home, 'certs')}, then run nrcert again`,
    );
    expect(readdirSync(join(home, 'certs'))).toEqual([]);
  });

  it('CERT_OWNER in root\'s CERT_DIR: the files are that user\'s, the folders stay root\'s (group: that user\'s), the key readable by that user', async () => {
    mkdirSync(certDir, { mode: 0o755 });
    const { id } = await new FileCertStore(certDir, { owner: USER }).install(sets[0]);
    const lineage = join(certDir, '.nrcert', id);
    for (const dir of [join(certDir, '.nrcert'), lineage]) expect([lstatSync(dir).uid, lstatSync(dir).gid]).toEqual([0, USER]);
    for (const name of CERT_FILES) expect(lstatSync(join(lineage, name)).uid).toBe(USER);
    expect(asUser({ uid: USER, gid: USER }, () => readFileSync(join(certDir, 'privkey.pem'), 'utf8'))).toBe(sets[0].privkey);
  });

  it('the lock file (left behind by a killed run) belongs to STATE_DIR\'s owner', async () => {
    userDir(stateDir, 0o700);
    const release = await acquireLock(join(stateDir, 'lock'), { command: 'renew' });
    expect(lstatSync(join(stateDir, 'lock')).uid).toBe(USER);
    await release();
  });

  it('a missing CERT_DIR inside a user\'s folder is created as that user', async () => {
    const home = userDir(join(tmp, 'home-pi'), 0o755);
    const dir = join(home, '.node-red', 'certs');
    await new FileCertStore(dir).install(sets[0]);
    expect(walk(join(home, '.node-red')).filter((e) => e.uid !== USER)).toEqual([]);
    expect(existsSync(join(dir, 'privkey.pem'))).toBe(true);
  });
});

function key(name: (typeof CERT_FILES)[number]): keyof CertificateSet {
  return name.replace('.pem', '') as keyof CertificateSet;
}

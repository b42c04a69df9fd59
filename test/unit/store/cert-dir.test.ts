import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import {
  existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, renameSync, statSync,
  symlinkSync, writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { InstallError } from '../../../src/errors';
import { FileCertStore } from '../../../src/store/cert-dir';
import { certificateInfo } from '../../../src/store/pem';
import { CERT_FILES, type CertificateSet } from '../../../src/store/types';
import { TestPki, makeTempDir, removeTempDir } from './pki';

let pki: TestPki;
let sets: CertificateSet[];
let tmp: string;
let certDir: string;

beforeAll(() => {
  pki = new TestPki();
  sets = [0, 1, 2, 3, 4].map(() => pki.issueLeaf());
});
afterAll(() => pki.cleanup());
beforeEach(() => {
  tmp = makeTempDir();
  certDir = join(tmp, 'certs');
});
afterEach(() => removeTempDir(tmp));

/** A clock that moves one day forward at each call, starting 2026-11-23 07:15 UTC. */
function steppingClock(): () => Date {
  let t = Date.UTC(2026, 10, 23, 7, 15, 0);
  return () => new Date((t += 86_400_000) - 86_400_000);
}

const modeOf = (path: string) => statSync(path).mode & 0o777;
const served = (name: string, dir = certDir) => readFileSync(join(dir, name), 'utf8');

/** What a reader of CERT_DIR/*.pem gets is exactly `set`, and its key matches its certificate. */
function expectServed(set: CertificateSet, dir = certDir): void {
  expect(served('privkey.pem', dir)).toBe(set.privkey);
  expect(served('cert.pem', dir)).toBe(set.cert);
  expect(served('chain.pem', dir)).toBe(set.chain);
  expect(served('fullchain.pem', dir)).toBe(set.fullchain);
  const fromKey = createPublicKey(createPrivateKey(served('privkey.pem', dir))).export({ type: 'spki', format: 'der' });
  const fromCert = new X509Certificate(served('fullchain.pem', dir)).publicKey.export({ type: 'spki', format: 'der' });
  expect(fromKey.equals(fromCert)).toBe(true);
}

describe('FileCertStore.install', () => {
  it('creates the layout: lineage files, a relative current link and four static links', async () => {
    const store = new FileCertStore(certDir, { clock: () => new Date('2026-11-23T07:15:00.500Z') });
    const result = await store.install(sets[0]);
    const serial = certificateInfo(sets[0].cert).serial.slice(0, 6);
    expect(result).toEqual({ id: `20261123T071500Z-${serial}`, importedId: null, pruned: [] });
    expect(modeOf(certDir)).toBe(0o750);
    expect(modeOf(join(certDir, '.nrcert'))).toBe(0o750);
    expect(readlinkSync(join(certDir, 'current'))).toBe(`.nrcert/${result.id}`);
    for (const name of CERT_FILES) expect(readlinkSync(join(certDir, name))).toBe(`current/${name}`);
    const lineage = join(certDir, '.nrcert', result.id);
    expect(modeOf(lineage)).toBe(0o750);
    expect(modeOf(join(lineage, 'privkey.pem'))).toBe(0o600);
    for (const name of ['cert.pem', 'chain.pem', 'fullchain.pem']) expect(modeOf(join(lineage, name))).toBe(0o644);
    expectServed(sets[0]);
    expect(await store.current()).toEqual({
      id: result.id,
      dir: lineage,
      files: Object.fromEntries(CERT_FILES.map((n) => [n, join(lineage, n)])),
    });
    expect(await store.read(result.id)).toEqual(sets[0]);
  });

  it('keeps working when CERT_DIR is moved (as when mounted elsewhere in a container)', async () => {
    await new FileCertStore(certDir).install(sets[0]);
    renameSync(certDir, join(tmp, 'mounted'));
    expectServed(sets[0], join(tmp, 'mounted'));
  });

  it('with a group, makes the key group-readable and gives the lineage to that group', async () => {
    // A group the files would not get anyway: any gid as root, else a supplementary group.
    const primary = process.getgid?.();
    const gid = process.getuid?.() === 0 ? 4242 : process.getgroups?.().find((g) => g !== primary);
    if (gid === undefined) {
      console.warn('cert-dir.test: no supplementary group other than the primary one; the group ownership is not checked');
    }
    const store = new FileCertStore(certDir, { group: gid ?? (primary as number) });
    const { id } = await store.install(sets[0]);
    const lineage = join(certDir, '.nrcert', id);
    expect(modeOf(join(lineage, 'privkey.pem'))).toBe(0o640);
    if (gid === undefined) return;
    for (const path of [certDir, join(certDir, '.nrcert'), lineage, ...CERT_FILES.map((n) => join(lineage, n))]) {
      expect(statSync(path).gid).toBe(gid);
    }
  });

  it('switches to a second set; switchTo brings the first back; installed() reads what is served', async () => {
    const store = new FileCertStore(certDir, { clock: steppingClock() });
    const first = await store.install(sets[0]);
    const second = await store.install(sets[1]);
    expect(second.id > first.id).toBe(true);
    expectServed(sets[1]);
    expect((await store.installed())?.id).toBe(second.id);

    await store.switchTo(first.id);
    expectServed(sets[0]);
    expect((await store.current())?.id).toBe(first.id);
    expect((await store.installed())?.info.serial).toBe(new X509Certificate(sets[0].cert).serialNumber.toLowerCase());
    await expect(store.switchTo('20991231T000000Z-abcdef')).rejects.toThrow(new InstallError(`there is no certificate 20991231T000000Z-abcdef in ${join(certDir, '.nrcert')}`));
    expectServed(sets[0]);
  });

  it('gives ids in install order even when the clock stands still or goes back', async () => {
    let now = new Date('2026-11-23T07:15:00Z');
    const store = new FileCertStore(certDir, { clock: () => now });
    const a = await store.install(sets[0]);
    const b = await store.install(sets[1]);
    now = new Date('2020-01-01T00:00:00Z');
    const c = await store.install(sets[2]);
    expect(a.id.slice(0, 16)).toBe('20261123T071500Z');
    expect(b.id.slice(0, 16)).toBe('20261123T071501Z');
    expect(c.id.slice(0, 16)).toBe('20261123T071502Z');
    expect(await store.lineages()).toEqual([a.id, b.id, c.id]);
  });

  it('keeps current and the two previous lineages, pruning older ones', async () => {
    const store = new FileCertStore(certDir, { clock: steppingClock() });
    const ids: string[] = [];
    const pruned: string[] = [];
    for (const set of sets) {
      const result = await store.install(set);
      ids.push(result.id);
      pruned.push(...result.pruned);
    }
    expect(pruned).toEqual(ids.slice(0, 2));
    expect(await store.lineages()).toEqual(ids.slice(2));
    expect(readdirSync(join(certDir, '.nrcert')).sort()).toEqual(ids.slice(2));
    expectServed(sets[4]);
  });

  it('never prunes a protected lineage (the rollback target), however old', async () => {
    const store = new FileCertStore(certDir, { clock: steppingClock(), keepPrevious: 1 });
    const a = await store.install(sets[0]);
    const b = await store.install(sets[1]);
    await store.switchTo(a.id);
    const c = await store.install(sets[2], { protect: [a.id] });
    expect(c.pruned).toEqual([]);
    const d = await store.install(sets[3], { protect: [a.id] });
    expect(d.pruned).toEqual([b.id]);
    expect(await store.lineages()).toEqual([a.id, c.id, d.id]);
  });
});

describe('FileCertStore with files it did not make', () => {
  it('imports a hand-made key and certificate, then installs over them', async () => {
    const handMade = pki.selfSigned(['nodered.local']);
    mkdirSync(certDir);
    writeFileSync(join(certDir, 'privkey.pem'), handMade.privkey, { mode: 0o600 });
    writeFileSync(join(certDir, 'cert.pem'), handMade.cert);
    writeFileSync(join(certDir, 'settings-notes.txt'), 'mine');
    const store = new FileCertStore(certDir, { clock: steppingClock() });

    const result = await store.install(sets[0]);
    expect(result.importedId).toMatch(/^20261123T071500Z-imported$/);
    expect(result.id > (result.importedId as string)).toBe(true);
    expectServed(sets[0]);
    for (const name of CERT_FILES) expect(lstatSync(join(certDir, name)).isSymbolicLink()).toBe(true);
    expect(served('settings-notes.txt')).toBe('mine');
    expect(await store.read(result.importedId as string)).toEqual({ ...handMade, chain: '', fullchain: handMade.cert });

    expect(await store.lineages()).toContain(result.importedId);
    await store.switchTo(result.importedId as string);
    expect(served('privkey.pem')).toBe(handMade.privkey);
    expect(served('cert.pem')).toBe(handMade.cert);
  });

  it('derives cert and chain when only privkey and fullchain were there', async () => {
    mkdirSync(certDir);
    writeFileSync(join(certDir, 'privkey.pem'), sets[0].privkey);
    writeFileSync(join(certDir, 'fullchain.pem'), sets[0].fullchain);
    const store = new FileCertStore(certDir);
    const { importedId } = await store.install(sets[1]);
    expect(await store.read(importedId as string)).toEqual(sets[0]);
  });

  it('completes an import interrupted after some names became links', async () => {
    const handMade = pki.selfSigned();
    const store = new FileCertStore(certDir, { clock: steppingClock() });
    await store.install(handMade);
    // Crash in the middle of an import: cert.pem is a plain file again, privkey.pem still a link.
    renameSync(join(certDir, 'cert.pem'), join(tmp, 'link'));
    writeFileSync(join(certDir, 'cert.pem'), handMade.cert);
    const result = await store.install(sets[0]);
    expect(await store.read(result.importedId as string)).toEqual(handMade);
  });

  it('reports a directory under one of the names as an InstallError', async () => {
    mkdirSync(join(certDir, 'privkey.pem'), { recursive: true });
    const install = new FileCertStore(certDir).install(sets[0]);
    await expect(install).rejects.toThrow(InstallError);
    await expect(new FileCertStore(certDir).install(sets[0])).rejects.toThrow('privkey.pem is a directory; move it away');
  });
});

describe('FileCertStore after a crash', () => {
  it('ignores and removes a half-written lineage and dangling temporary links', async () => {
    const store = new FileCertStore(certDir, { clock: steppingClock() });
    const first = await store.install(sets[0]);
    const half = join(certDir, '.nrcert', '20991231T000000Z-abcdef.tmp');
    mkdirSync(half);
    writeFileSync(join(half, 'privkey.pem'), 'partial');
    symlinkSync('.nrcert/20991231T000000Z-abcdef.tmp', join(certDir, '.current.deadbeef.tmp'));
    symlinkSync('current/cert.pem', join(certDir, '.cert.pem.0badf00d.tmp'));

    expect(await store.lineages()).toEqual([first.id]);
    expectServed(sets[0]);

    const second = await store.install(sets[1]);
    expect(second.id < '20991231').toBe(true);
    expectServed(sets[1]);
    expect(readdirSync(join(certDir, '.nrcert')).sort()).toEqual([first.id, second.id]);
    expect(readdirSync(certDir).sort()).toEqual(['.nrcert', 'cert.pem', 'chain.pem', 'current', 'fullchain.pem', 'privkey.pem']);
  });

  it('keeps serving the old set when a new lineage was written but current not yet swapped', async () => {
    const store = new FileCertStore(certDir, { clock: steppingClock() });
    const first = await store.install(sets[0]);
    const orphan = join(certDir, '.nrcert', '20261125T000000Z-orphan');
    mkdirSync(orphan);
    for (const name of CERT_FILES) writeFileSync(join(orphan, name), 'never made current');
    expect((await store.current())?.id).toBe(first.id);
    expectServed(sets[0]);
    const next = await store.install(sets[1]);
    expect(next.id > '20261125T000000Z-orphan').toBe(true);
    expectServed(sets[1]);
  });

  it('recreates static links that are missing, and treats a dangling current as none', async () => {
    const store = new FileCertStore(certDir, { clock: steppingClock() });
    await store.install(sets[0]);
    renameSync(join(certDir, 'chain.pem'), join(tmp, 'gone'));
    renameSync(join(certDir, 'current'), join(tmp, 'gone2'));
    symlinkSync('.nrcert/20000101T000000Z-nothere', join(certDir, 'current'));
    expect(await store.current()).toBeNull();
    await store.install(sets[1]);
    expectServed(sets[1]);
  });

  it('refuses a current link that points outside .nrcert', async () => {
    mkdirSync(certDir);
    symlinkSync('/etc', join(certDir, 'current'));
    await expect(new FileCertStore(certDir).current()).rejects.toThrow(`points at /etc, not at a lineage in .nrcert/`);
  });

  it('wraps a failure while writing a lineage in InstallError and leaves the old set served', async () => {
    const store = new FileCertStore(certDir, { clock: steppingClock() });
    const first = await store.install(sets[0]);
    const broken = { ...sets[1], chain: 42 as unknown as string }; // fails after privkey and cert
    await expect(store.install(broken)).rejects.toThrow(
      new RegExp(`^installing the certificate in ${certDir} failed \\(.*\\); check that folder and its permissions, then run nrcert again$`),
    );
    expectServed(sets[0]);
    expect(readdirSync(join(certDir, '.nrcert'))).toEqual([first.id]);
  });

  it('refuses to switch when nothing is installed', async () => {
    await expect(new FileCertStore(certDir).switchTo('20261123T071500Z-abcdef')).rejects.toThrow(/there is no certificate 20261123T071500Z-abcdef/);
    expect(await new FileCertStore(certDir).installed()).toBeNull();
  });

  it('an imported lineage that lacks files cannot be read back (so a rollback never picks it)', async () => {
    const store = new FileCertStore(certDir, { clock: steppingClock() });
    mkdirSync(certDir);
    writeFileSync(join(certDir, 'cert.pem'), sets[0].cert); // no key to import
    const { importedId } = await store.install(sets[1]);
    expect(existsSync(join(certDir, '.nrcert', importedId as string, 'privkey.pem'))).toBe(false);
    await expect(store.read(importedId as string)).rejects.toThrow(/ENOENT/);
    expectServed(sets[1]);
  });
});

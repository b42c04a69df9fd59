/** privilege/as-owner: a root run really does its file work with the directory owner's credentials. */
import { chmodSync, chownSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { asOwnerOf, asUser, ownerOf } from '../../src/privilege/as-owner';
import { readInstalledCertificate } from '../../src/store/pem';
import { makeTempDir, removeTempDir } from './store/pki';

const asRoot = process.getuid?.() === 0 ? describe : describe.skip;
let tmp: string;
beforeEach(() => {
  tmp = makeTempDir();
  chmodSync(tmp, 0o755);
});
afterEach(() => removeTempDir(tmp));

asRoot('asUser as root', () => {
  it('reads as that user: a root-only file is refused by the kernel, and root is back afterwards', () => {
    const secret = join(tmp, 'secret');
    writeFileSync(secret, 'x', { mode: 0o600 });
    const groups = process.getgroups!();
    expect(() => asUser({ uid: 4242, gid: 4242 }, () => readFileSync(secret))).toThrow(expect.objectContaining({ code: 'EACCES' }));
    expect([process.geteuid!(), process.getegid!(), process.getgroups!()]).toEqual([0, 0, groups]);
    expect(readFileSync(secret, 'utf8')).toBe('x');
  });

  it('refuses asynchronous work, whose continuation would run with the wrong credentials', () => {
    expect(() => asUser({ uid: 4242, gid: 4242 }, (async () => 1) as unknown as () => number)).toThrow(TypeError);
    expect(process.geteuid!()).toBe(0);
  });

  it('acts as the owner of the nearest existing folder of a path not made yet', () => {
    const home = join(tmp, 'home');
    mkdirSync(home);
    chownSync(home, 4242, 4243);
    expect(ownerOf(join(home, 'a', 'b'))).toEqual({ uid: 4242, gid: 4243 });
    const made = asOwnerOf(join(home, 'a'), () => {
      mkdirSync(join(home, 'a'));
      return process.geteuid!();
    });
    expect(made).toBe(4242);
  });
});

/** Runs `work` with effective uid/gid 4242, the way a dedicated `nrcert` user would run. */
async function asUser4242<T>(work: () => Promise<T>): Promise<T> {
  const groups = process.getgroups!();
  process.setgroups!([4242]);
  process.setegid!(4242);
  process.seteuid!(4242);
  try {
    return await work();
  } finally {
    process.seteuid!(0);
    process.setegid!(0);
    process.setgroups!(groups);
  }
}

asRoot('a folder that cannot be traversed', () => {
  it('is named, with the setfacl fix, instead of "cannot read cert.pem"', async () => {
    const home = join(tmp, 'home-pi');
    const certDir = join(home, '.node-red', 'certs');
    mkdirSync(certDir, { recursive: true });
    writeFileSync(join(certDir, 'cert.pem'), 'not read', { mode: 0o644 });
    chmodSync(join(home, '.node-red'), 0o755);
    chownSync(home, 4243, 4243);
    chmodSync(home, 0o700); // bookworm's home folders
    await expect(asUser4242(() => readInstalledCertificate(certDir))).rejects.toThrow(
      `the folder ${home} cannot be traversed by user 4242 (uid 4242), so ${join(certDir, 'cert.pem')} cannot be reached; ` +
        `let it pass through (no listing, no reading): sudo setfacl -m u:4242:x ${home}`,
    );
  });

  it('follows the links to the lineage folder to find it', async () => {
    const certDir = join(tmp, 'certs');
    const hidden = join(tmp, 'hidden');
    mkdirSync(join(hidden, 'lineage'), { recursive: true });
    mkdirSync(certDir);
    chmodSync(hidden, 0o700);
    symlinkSync(join(hidden, 'lineage', 'cert.pem'), join(certDir, 'cert.pem'));
    await expect(asUser4242(() => readInstalledCertificate(certDir))).rejects.toThrow(`the folder ${hidden} cannot be traversed`);
  });
});

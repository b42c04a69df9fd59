/** privilege/as-owner: a root run really does its file work with the directory owner's credentials. */
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { asOwnerOf, asUser, ownerOf } from '../../src/privilege/as-owner';
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

/**
 * Issue 9 §1, `sudo nrcert init … --node-red-dir /home/pi/.node-red`: the CERT_DIR root creates
 * there belongs to Node-RED's user, and init proves that user can read the key before "Done".
 */
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultOwnership } from '../../src/config/ownership';
import { nodeRedCannotRead } from '../../src/init/prove';
import { FileCertStore } from '../../src/store/cert-dir';
import { TestPki, makeTempDir, removeTempDir } from './store/pki';

const asRoot = process.getuid?.() === 0 ? describe : describe.skip;
let pki: TestPki;
let tmp: string;
let nodeRedDir: string;
let certDir: string;

beforeAll(() => {
  pki = new TestPki();
});
afterAll(() => pki.cleanup());
beforeEach(() => {
  tmp = makeTempDir();
  chmodSync(tmp, 0o755);
  nodeRedDir = join(tmp, 'home-pi', '.node-red');
  mkdirSync(nodeRedDir, { recursive: true });
  chownSync(join(tmp, 'home-pi'), 4242, 4242);
  chownSync(nodeRedDir, 4242, 4242);
  certDir = join(nodeRedDir, 'certs');
});
afterEach(() => removeTempDir(tmp));

asRoot('root installing into a Node-RED user directory', () => {
  it('gives a CERT_DIR not made yet to the owner of the Node-RED directory', async () => {
    expect(await defaultOwnership(certDir, {})).toEqual({ uid: 4242 });
  });

  it('proves Node-RED\'s user can read what renew installed', async () => {
    const { uid } = await defaultOwnership(certDir, {});
    await new FileCertStore(certDir, { owner: uid }).install(pki.issueLeaf());
    expect(nodeRedCannotRead(certDir, nodeRedDir)).toBeNull();
  });

  it('names a key Node-RED\'s user cannot read (root:root 0600, as before) instead of saying Done', () => {
    mkdirSync(certDir, { mode: 0o755 });
    writeFileSync(join(certDir, 'privkey.pem'), 'key', { mode: 0o600 });
    writeFileSync(join(certDir, 'fullchain.pem'), 'chain', { mode: 0o644 });
    expect(nodeRedCannotRead(certDir, nodeRedDir)).toBe(
      `Node-RED runs as uid 4242, the owner of ${nodeRedDir}, and cannot read ${join(certDir, 'privkey.pem')}: ` +
        `permission denied (fix: sudo chown 4242 ${join(certDir, 'privkey.pem')}, or set CERT_OWNER/CERT_GROUP and run nrcert renew --force)`,
    );
  });
});

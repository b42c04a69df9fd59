import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InstallError } from '../../../src/errors';
import {
  certificateInfo, parseSanDnsNames, readInstalledCertificate, splitPemCertificates,
} from '../../../src/store/pem';
import { TestPki, makeTempDir, removeTempDir } from './pki';

let pki: TestPki;
let tmp: string;
beforeAll(() => {
  pki = new TestPki();
});
afterAll(() => pki.cleanup());
beforeEach(() => {
  tmp = makeTempDir();
});
afterEach(() => removeTempDir(tmp));

describe('splitPemCertificates', () => {
  it('returns each certificate of a full chain in order', () => {
    const set = pki.issueLeaf();
    const blocks = splitPemCertificates(`junk before\n${set.fullchain}\n\n`);
    expect(blocks).toEqual([set.cert, set.chain]);
  });

  it('returns nothing for text without certificates', () => {
    expect(splitPemCertificates('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n')).toEqual([]);
  });
});

describe('certificateInfo', () => {
  it('reports names, serial, dates, fingerprint and issuer as openssl does', () => {
    const set = pki.issueLeaf(['example.test', '*.example.test'], '0x3FA2C1D4E5F60718');
    const info = certificateInfo(set.cert);
    expect(info.names).toEqual(['example.test', '*.example.test']);
    expect(info.serial).toBe('3fa2c1d4e5f60718');
    expect(info.issuer).toBe('CN=nrcert Test Intermediate');
    const opensslFingerprint = execFileSync('openssl', ['x509', '-noout', '-fingerprint', '-sha256'], {
      input: set.cert,
    }).toString().trim().split('=')[1];
    expect(info.fingerprint256).toBe(opensslFingerprint);
    const days = (info.notAfter.getTime() - info.notBefore.getTime()) / 86_400_000;
    expect(days).toBe(90);
    expect(Math.abs(info.notBefore.getTime() - Date.now())).toBeLessThan(5 * 60_000);
  });

  it('throws InstallError for text that is not a certificate', () => {
    expect(() => certificateInfo('not a certificate')).toThrow(InstallError);
  });
});

describe('parseSanDnsNames', () => {
  it('keeps DNS entries only, including quoted values with commas', () => {
    expect(parseSanDnsNames('DNS:a.test, IP Address:192.0.2.1, DNS:"b,c.test", email:x@y')).toEqual([
      'a.test',
      'b,c.test',
    ]);
    expect(parseSanDnsNames(undefined)).toEqual([]);
  });
});

describe('readInstalledCertificate', () => {
  it('returns null when CERT_DIR has no cert.pem, or only a dangling link', async () => {
    expect(await readInstalledCertificate(tmp)).toBeNull();
    expect(await readInstalledCertificate(join(tmp, 'missing'))).toBeNull();
    symlinkSync('current/cert.pem', join(tmp, 'cert.pem'));
    expect(await readInstalledCertificate(tmp)).toBeNull();
  });

  it('reads cert.pem through links and names the four file paths', async () => {
    const set = pki.issueLeaf();
    mkdirSync(join(tmp, 'real'));
    writeFileSync(join(tmp, 'real', 'cert.pem'), set.cert);
    symlinkSync('real/cert.pem', join(tmp, 'cert.pem'));
    const installed = await readInstalledCertificate(tmp);
    expect(installed?.info.fingerprint256).toBe(certificateInfo(set.cert).fingerprint256);
    expect(installed?.files['privkey.pem']).toBe(join(tmp, 'privkey.pem'));
    expect(installed?.files['fullchain.pem']).toBe(join(tmp, 'fullchain.pem'));
  });

  it('throws InstallError naming the file when cert.pem is not a certificate', async () => {
    writeFileSync(join(tmp, 'cert.pem'), 'garbage');
    await expect(readInstalledCertificate(tmp)).rejects.toThrow(`${join(tmp, 'cert.pem')} is not a valid PEM`);
  });
});

import { ExitCode, InstallError } from '../../../src/errors';
import { certificateInfo } from '../../../src/store/pem';
import type { CertificateSet } from '../../../src/store/types';
import { validateCertificateSet } from '../../../src/store/validate';
import { TestPki } from './pki';

const NAMES = ['example.test', '*.example.test'];
let pki: TestPki;
let good: CertificateSet;
let now: Date;

beforeAll(() => {
  pki = new TestPki();
  good = pki.issueLeaf(NAMES);
  now = new Date(certificateInfo(good.cert).notBefore.getTime() + 60_000);
});
afterAll(() => pki.cleanup());

/** The InstallError thrown for `set`, checked to carry no key material. */
function failure(set: CertificateSet, names = NAMES, at = now): InstallError {
  try {
    validateCertificateSet(set, { names, now: at });
  } catch (err) {
    expect(err).toBeInstanceOf(InstallError);
    const e = err as InstallError;
    expect(e.exitCode).toBe(ExitCode.install);
    const keyBody = set.privkey.split('\n')[1] ?? '';
    expect(e.message).not.toContain('PRIVATE KEY');
    if (keyBody) expect(e.message).not.toContain(keyBody.slice(0, 16));
    return e;
  }
  throw new Error('validation passed but should have failed');
}

describe('validateCertificateSet accepts', () => {
  it('a good set and returns the leaf info', () => {
    const info = validateCertificateSet(good, { names: NAMES, now });
    expect(info.names).toEqual(NAMES);
    expect(info.issuer).toBe('CN=nrcert Test Intermediate');
  });

  it('names in another case, and a subset of the SAN', () => {
    expect(() => validateCertificateSet(good, { names: ['EXAMPLE.test'], now })).not.toThrow();
  });

  it('a self-signed leaf with an empty chain', () => {
    const self = pki.selfSigned(NAMES);
    expect(() => validateCertificateSet(self, { names: NAMES, now: new Date() })).not.toThrow();
  });

  it('a chain that continues up to the root', () => {
    const set = { ...good, chain: good.chain + pki.rootCert, fullchain: good.cert + good.chain + pki.rootCert };
    expect(() => validateCertificateSet(set, { names: NAMES, now })).not.toThrow();
  });

  it('a fullchain that differs only in whitespace and line endings', () => {
    const fullchain = `${good.cert}\n\n${good.chain}`.replace(/\n/g, '\r\n');
    expect(() => validateCertificateSet({ ...good, fullchain }, { names: NAMES, now })).not.toThrow();
  });

  it('a notBefore less than five minutes ahead of the clock', () => {
    const at = new Date(certificateInfo(good.cert).notBefore.getTime() - 4 * 60_000);
    expect(() => validateCertificateSet(good, { names: NAMES, now: at })).not.toThrow();
  });
});

describe('validateCertificateSet rejects', () => {
  it('a private key of another certificate', () => {
    expect(failure({ ...good, privkey: pki.newKey() }).message).toBe(
      'the private key does not match the public key of the certificate for example.test, *.example.test',
    );
  });

  it('a private key that cannot be read, without echoing it', () => {
    const e = failure({ ...good, privkey: '-----BEGIN PRIVATE KEY-----\nU2VjcmV0U2VjcmV0U2VjcmV0\n-----END PRIVATE KEY-----\n' });
    expect(e.message).toBe('the private key (privkey.pem) could not be read as a PEM private key');
    expect(e.cause).toBeUndefined();
  });

  it('a certificate missing an ordered name', () => {
    expect(failure(good, [...NAMES, 'other.test']).message).toBe(
      'the certificate does not cover other.test (it covers example.test, *.example.test)',
    );
  });

  it('a wildcard that would only match the ordered name, since wildcards compare literally', () => {
    expect(failure(good, ['www.example.test']).message).toMatch(/does not cover www\.example\.test/);
    const apexOnly = pki.issueLeaf(['example.test']);
    expect(failure(apexOnly, NAMES, new Date()).message).toMatch(/does not cover \*\.example\.test \(it covers example\.test\)/);
  });

  it('a notBefore more than five minutes in the future', () => {
    const at = new Date(certificateInfo(good.cert).notBefore.getTime() - 6 * 60_000);
    expect(failure(good, NAMES, at).message).toMatch(/^the certificate is not valid before .* check the system clock/);
  });

  it('a certificate whose notAfter is not after now', () => {
    const at = certificateInfo(good.cert).notAfter;
    expect(failure(good, NAMES, at).message).toMatch(/^the certificate expired at /);
  });

  it('a fullchain that is not cert + chain', () => {
    expect(failure({ ...good, fullchain: good.cert }).message).toBe('fullchain.pem is not cert.pem followed by chain.pem');
    expect(failure({ ...good, fullchain: good.chain + good.cert }).message).toMatch(/^fullchain.pem is not/);
  });

  it('a chain whose first certificate did not issue the leaf', () => {
    const set = { ...good, chain: pki.rootCert, fullchain: good.cert + pki.rootCert };
    expect(failure(set).message).toBe(
      'the chain does not link: the leaf certificate (CN=example.test) is not issued by ' +
        'chain certificate 1 (CN=nrcert Test Root)',
    );
  });

  it('a chain that breaks further up', () => {
    const stranger = pki.selfSigned(['stranger.test']).cert;
    const chain = good.chain + stranger;
    expect(failure({ ...good, chain, fullchain: good.cert + chain }).message).toBe(
      'the chain does not link: chain certificate 1 (CN=nrcert Test Intermediate) is not issued by ' +
        'chain certificate 2 (CN=stranger.test)',
    );
  });

  it('an empty chain for a leaf that is not self-signed', () => {
    expect(failure({ ...good, chain: '', fullchain: good.cert }).message).toBe(
      'chain.pem is empty but the certificate for example.test, *.example.test is not self-signed',
    );
  });

  it('a cert.pem holding more or less than one certificate', () => {
    expect(failure({ ...good, cert: good.fullchain, fullchain: good.fullchain + good.chain }).message).toBe(
      'cert.pem must hold exactly one certificate, found 2',
    );
    expect(failure({ ...good, cert: 'nothing' }).message).toBe('cert.pem must hold exactly one certificate, found 0');
  });
});

/** Test helper: a throwaway root CA, intermediate and leaf certificates made with real openssl. */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CertificateSet } from '../../../src/store/types';

const EXTENSIONS = `
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $ENV::SAN
`;

/** A fresh temporary directory; remove it with removeTempDir. */
export function makeTempDir(prefix = 'nrcert-store-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Removes a directory made by makeTempDir. */
export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** A PKI in a temp dir: root -> intermediate -> leaves. */
export class TestPki {
  readonly dir = makeTempDir('nrcert-pki-');
  readonly rootCert: string;
  readonly intermediateCert: string;
  private counter = 0;

  constructor() {
    writeFileSync(join(this.dir, 'ext.cnf'), EXTENSIONS);
    this.key('root');
    this.openssl(['req', '-x509', '-new', '-key', 'root.key', '-subj', '/CN=nrcert Test Root', '-days', '3650',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-out', 'root.pem']);
    this.key('inter');
    this.openssl(['req', '-new', '-key', 'inter.key', '-subj', '/CN=nrcert Test Intermediate', '-out', 'inter.csr']);
    this.sign('inter.csr', 'root', 'ca', 'inter.pem', '0x1001', '');
    this.rootCert = this.read('root.pem');
    this.intermediateCert = this.read('inter.pem');
  }

  /** A PEM private key (P-256) not used by any certificate. */
  newKey(): string {
    const name = `k${this.counter++}`;
    this.key(name);
    return this.read(`${name}.key`);
  }

  /** A leaf signed by the intermediate, as a complete set (chain = intermediate). */
  issueLeaf(names = ['example.test', '*.example.test'], serial = `0x3f${randomBytes(7).toString('hex')}`): CertificateSet {
    const name = `leaf${this.counter++}`;
    this.key(name);
    this.openssl(['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${names[0]}`, '-out', `${name}.csr`]);
    this.sign(`${name}.csr`, 'inter', 'leaf', `${name}.pem`, serial, names.map((n) => `DNS:${n}`).join(','));
    const cert = this.read(`${name}.pem`);
    const chain = this.intermediateCert;
    return { privkey: this.read(`${name}.key`), cert, chain, fullchain: cert + chain };
  }

  /** A self-signed leaf with the given names and an empty chain. */
  selfSigned(names = ['example.test', '*.example.test']): CertificateSet {
    const name = `self${this.counter++}`;
    this.key(name);
    this.openssl(['req', '-x509', '-new', '-key', `${name}.key`, '-subj', `/CN=${names[0]}`, '-days', '30',
      '-addext', `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`, '-out', `${name}.pem`]);
    const cert = this.read(`${name}.pem`);
    return { privkey: this.read(`${name}.key`), cert, chain: '', fullchain: cert };
  }

  /** Removes the PKI's directory. */
  cleanup(): void {
    removeTempDir(this.dir);
  }

  private key(name: string): void {
    this.openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`]);
  }

  private sign(csr: string, ca: string, ext: string, out: string, serial: string, san: string): void {
    this.openssl(['x509', '-req', '-in', csr, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-set_serial', serial,
      '-days', '90', '-extfile', 'ext.cnf', '-extensions', ext, '-out', out], { SAN: san || 'DNS:unused.test' });
  }

  private openssl(args: string[], env: Record<string, string> = {}): void {
    execFileSync('openssl', args, { cwd: this.dir, env: { ...process.env, ...env }, stdio: 'pipe' });
  }

  private read(name: string): string {
    return readFileSync(join(this.dir, name), 'utf8');
  }
}

/**
 * The client-certificate CA as pure functions over PEM text: make the CA, issue a client
 * certificate, sign a CRL. @peculiar/x509 (with Node's WebCrypto) does the X.509 work; it is
 * required here, lazily, so only `nrcert clients` and the client-certificate checks load it.
 *
 * The CA key is ECDSA P-256; client keys are RSA-2048 because PKCS#12 writers and the phones
 * that import them (pkcs12.ts) handle RSA everywhere. Client certificates carry
 * extendedKeyUsage clientAuth only, so one can never serve as a server certificate.
 */
import { createPrivateKey, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import type * as X509 from '@peculiar/x509';

/** The CA as kept on disk: its certificate and its PKCS#8 private key, both PEM. */
export interface CaMaterial {
  certPem: string;
  keyPem: string;
}

/** A client certificate and its key (PKCS#8 PEM), freshly issued. */
export interface IssuedClient {
  certPem: string;
  keyPem: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
}

/** One entry of the CRL: a revoked serial (hex) and when it was revoked. */
export interface RevokedEntry {
  serial: string;
  revokedAt: Date;
}

const CA_ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const CLIENT_ALG = { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
/** How long the CA is valid. */
export const CA_DAYS = 3650;

let loaded: typeof X509 | undefined;
/** @peculiar/x509, loaded on first use with Node's WebCrypto as its provider. */
function x509(): typeof X509 {
  if (!loaded) {
    require('reflect-metadata');
    loaded = require('@peculiar/x509') as typeof X509;
    loaded.cryptoProvider.set(webcrypto as never);
  }
  return loaded;
}

/** A random positive serial number, 16 bytes as hex (RFC 5280 §4.1.2.2: at most 20 octets). */
export function newSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] & 0x7f) | 0x10;
  return bytes.toString('hex');
}

function pkcs8Pem(der: ArrayBuffer): string {
  return createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }).toString();
}

async function importCaKey(keyPem: string): Promise<never> {
  const der = createPrivateKey(keyPem).export({ type: 'pkcs8', format: 'der' });
  return (await webcrypto.subtle.importKey('pkcs8', der, CA_ALG, false, ['sign'])) as never;
}

/** A new self-signed CA named "nrcert client CA (<label>)", valid CA_DAYS from `now`. */
export async function createCa(label: string, now: Date): Promise<CaMaterial> {
  const x = x509();
  const keys = (await webcrypto.subtle.generateKey(CA_ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x.X509CertificateGenerator.createSelfSigned({
    serialNumber: newSerial(),
    name: [{ CN: [`nrcert client CA (${label})`] }],
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + CA_DAYS * DAY_MS),
    keys: keys as never,
    signingAlgorithm: CA_ALG,
    extensions: [
      new x.BasicConstraintsExtension(true, 0, true),
      new x.KeyUsagesExtension(x.KeyUsageFlags.keyCertSign | x.KeyUsageFlags.cRLSign, true),
      await x.SubjectKeyIdentifierExtension.create(keys.publicKey as never),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: pkcs8Pem(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as never)) };
}

/** A client certificate for `name` (CN), signed by the CA, valid `days` from `now`. */
export async function issueClient(ca: CaMaterial, name: string, days: number, now: Date): Promise<IssuedClient> {
  const x = x509();
  const caCert = new x.X509Certificate(ca.certPem);
  const keys = (await webcrypto.subtle.generateKey(CLIENT_ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const serial = newSerial();
  const notBefore = new Date(now.getTime() - 60_000);
  const notAfter = new Date(now.getTime() + days * DAY_MS);
  const cert = await x.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: [{ CN: [name] }],
    issuer: caCert.subject,
    notBefore,
    notAfter,
    publicKey: keys.publicKey as never,
    signingKey: await importCaKey(ca.keyPem),
    signingAlgorithm: CA_ALG,
    extensions: [
      new x.BasicConstraintsExtension(false, undefined, true),
      new x.KeyUsagesExtension(x.KeyUsageFlags.digitalSignature | x.KeyUsageFlags.keyEncipherment, true),
      new x.ExtendedKeyUsageExtension([x.ExtendedKeyUsage.clientAuth]),
      await x.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  const keyPem = pkcs8Pem(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as never));
  return { certPem: cert.toString('pem'), keyPem, serial, notBefore, notAfter };
}

/**
 * A CRL (v2, with a CRL number) listing `revoked`, valid until the CA itself expires: nrcert
 * re-signs it at every change, and nothing else would re-sign it on time, while an expired CRL
 * makes OpenSSL refuse every client certificate.
 */
export async function signCrl(ca: CaMaterial, revoked: RevokedEntry[], crlNumber: number, now: Date): Promise<string> {
  const x = x509();
  const caCert = new x.X509Certificate(ca.certPem);
  const crl = await x.X509CrlGenerator.create({
    issuer: caCert.subject,
    thisUpdate: new Date(now.getTime() - 60_000),
    nextUpdate: caCert.notAfter,
    entries: revoked.map((r) => ({ serialNumber: r.serial, revocationDate: r.revokedAt })),
    signingKey: await importCaKey(ca.keyPem),
    signingAlgorithm: CA_ALG,
    extensions: [
      new x.Extension('2.5.29.20', false, crlNumberDer(crlNumber)),
      await x.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return pemOf('X509 CRL', crl.rawData);
}

/** PEM with the label OpenSSL reads (@peculiar/x509 writes "CRL", which OpenSSL refuses). */
function pemOf(label: string, der: ArrayBuffer): string {
  const lines = Buffer.from(der).toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** DER INTEGER for a CRL number (RFC 5280 §5.2.3). */
function crlNumberDer(n: number): ArrayBuffer {
  let hex = n.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  if (parseInt(hex.slice(0, 2), 16) & 0x80) hex = `00${hex}`;
  const body = Buffer.from(hex, 'hex');
  const der = Buffer.concat([Buffer.from([0x02, body.length]), body]);
  return der.buffer.slice(der.byteOffset, der.byteOffset + der.length);
}

/** What a CRL says: its issuer, dates and revoked serials (lower-case hex, no leading zeros). */
export interface CrlInfo {
  issuer: string;
  thisUpdate: Date;
  nextUpdate: Date | null;
  serials: string[];
  /** True when the CA's key signed it. */
  signedByCa: boolean;
}

/** Reads a CRL and checks its signature against the CA certificate. */
export async function readCrl(crlPem: string, caCertPem: string): Promise<CrlInfo> {
  const x = x509();
  const crl = new x.X509Crl(crlPem);
  const caCert = new x.X509Certificate(caCertPem);
  return {
    issuer: crl.issuer,
    thisUpdate: crl.thisUpdate,
    nextUpdate: crl.nextUpdate ?? null,
    serials: crl.entries.map((e) => normalSerial(e.serialNumber)),
    signedByCa: await crl.verify({ publicKey: await caCert.publicKey.export() }).catch(() => false),
  };
}

/** A serial as lower-case hex without leading zeros, so two spellings compare equal. */
export function normalSerial(serial: string): string {
  return serial.toLowerCase().replace(/^0+(?=.)/, '');
}

/** True when `certPem` was issued by the CA in `caCertPem` (signature checked). */
export function issuedBy(certPem: string, caCertPem: string): boolean {
  try {
    return new X509Certificate(certPem).verify(new X509Certificate(caCertPem).publicKey);
  } catch {
    return false;
  }
}

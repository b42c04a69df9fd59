/**
 * PKCS#12 (.p12) files for phones and browsers (RFC 7292), written with node-forge's ASN.1 and
 * PBE primitives, loaded lazily so only `nrcert clients add` pays for them.
 *
 * Why not forge's own toPkcs12Asn1: it leaves the certificate bag unencrypted. And why not
 * OpenSSL 3's defaults: iOS 17, Android ≤ 15, macOS ≤ 14 and Windows Server 2016 report its
 * AES-256/PBKDF2 files as "wrong password". So:
 *   legacy (default)  key bag and certificate bag PBE-SHA1-3DES, SHA-1 MAC (what they all import)
 *   modern            key bag and certificate bag PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC), SHA-256 MAC
 * OpenSSL's own `-legacy` (40-bit RC2 for certificates) is not offered.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Secret } from '../config/secret';

/** Which encryption the .p12 uses. */
export type P12Flavour = 'legacy' | 'modern';

/** What goes into one .p12. */
export interface P12Contents {
  /** PKCS#8 PEM private key (RSA). */
  keyPem: string;
  /** The client certificate, PEM. */
  certPem: string;
  /** Further certificates (the CA), PEM. */
  chainPems: string[];
  friendlyName: string;
  password: Secret;
  flavour: P12Flavour;
}

/** PBE iterations; 2048 is what OpenSSL and the phones use, and costs little on a Pi. */
const ITERATIONS = 2048;

/* eslint-disable @typescript-eslint/no-explicit-any */
type Forge = any;
let loaded: Forge;
function forge(): Forge {
  loaded ??= require('node-forge');
  return loaded;
}

/** The .p12 file's bytes. */
export function buildP12(c: P12Contents): Buffer {
  const f = forge();
  const { asn1 } = f;
  const der = (pem: string) => f.util.decode64(pem.replace(/-----[^-]+-----|\s/g, ''));
  const certDer = der(c.certPem);
  const localKeyId = createHash('sha1').update(Buffer.from(certDer, 'binary')).digest().toString('binary');
  const attrs = bagAttributes(f, c.friendlyName, localKeyId);
  const certBags = [certBag(f, certDer, attrs), ...c.chainPems.map((pem) => certBag(f, der(pem), null))];
  const certSafe = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, certBags);
  const password = c.password.reveal();
  const pbe = c.flavour === 'legacy'
    ? { algorithm: '3des', count: ITERATIONS }
    : { algorithm: 'aes256', count: ITERATIONS, prfAlgorithm: 'sha256' };

  const keyInfo = f.pki.wrapRsaPrivateKey(f.pki.privateKeyToAsn1(f.pki.privateKeyFromPem(rsaPem(c.keyPem))));
  const shrouded = f.pki.encryptPrivateKeyInfo(keyInfo, password, pbe);
  const keyBag = seq(f, [oid(f, f.pki.oids.pkcs8ShroudedKeyBag), explicit0(f, shrouded), attrs]);
  const keySafe = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [keyBag]);

  const authSafe = seq(f, [encryptedContentInfo(f, certSafe, password, pbe), dataContentInfo(f, keySafe)]);
  const authSafeDer = asn1.toDer(authSafe).getBytes();
  const pfx = seq(f, [
    int(f, 3),
    dataContentInfoBytes(f, authSafeDer),
    macData(f, authSafeDer, password, c.flavour === 'legacy' ? 'sha1' : 'sha256'),
  ]);
  return Buffer.from(asn1.toDer(pfx).getBytes(), 'binary');
}

/** A PKCS#1 RSA key PEM for forge, which reads no PKCS#8. */
function rsaPem(pkcs8Pem: string): string {
  const { createPrivateKey } = require('node:crypto') as typeof import('node:crypto');
  return createPrivateKey(pkcs8Pem).export({ type: 'pkcs1', format: 'pem' }).toString();
}

function seq(f: Forge, items: unknown[]): unknown {
  return f.asn1.create(f.asn1.Class.UNIVERSAL, f.asn1.Type.SEQUENCE, true, items.filter((i) => i !== null));
}
function oid(f: Forge, id: string): unknown {
  return f.asn1.create(f.asn1.Class.UNIVERSAL, f.asn1.Type.OID, false, f.asn1.oidToDer(id).getBytes());
}
function int(f: Forge, n: number): unknown {
  return f.asn1.create(f.asn1.Class.UNIVERSAL, f.asn1.Type.INTEGER, false, f.asn1.integerToDer(n).getBytes());
}
function octets(f: Forge, bytes: string): unknown {
  return f.asn1.create(f.asn1.Class.UNIVERSAL, f.asn1.Type.OCTETSTRING, false, bytes);
}
function explicit0(f: Forge, inner: unknown): unknown {
  return f.asn1.create(f.asn1.Class.CONTEXT_SPECIFIC, 0, true, [inner]);
}

/** friendlyName (BMPString) and localKeyId, tying the key bag to its certificate bag. */
function bagAttributes(f: Forge, name: string, localKeyId: string): unknown {
  const { asn1 } = f;
  const set = (items: unknown[]) => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SET, true, items);
  return set([
    seq(f, [oid(f, f.pki.oids.friendlyName), set([asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BMPSTRING, false, bmp(name))])]),
    seq(f, [oid(f, f.pki.oids.localKeyId), set([octets(f, localKeyId)])]),
  ]);
}

function bmp(text: string): string {
  let out = '';
  for (const ch of text) out += String.fromCharCode(ch.charCodeAt(0) >> 8, ch.charCodeAt(0) & 0xff);
  return out;
}

function certBag(f: Forge, certDer: string, attrs: unknown): unknown {
  const value = seq(f, [oid(f, f.pki.oids.x509Certificate), explicit0(f, octets(f, certDer))]);
  return seq(f, [oid(f, f.pki.oids.certBag), explicit0(f, value), attrs]);
}

function dataContentInfoBytes(f: Forge, bytes: string): unknown {
  return seq(f, [oid(f, f.pki.oids.data), explicit0(f, octets(f, bytes))]);
}
function dataContentInfo(f: Forge, content: unknown): unknown {
  return dataContentInfoBytes(f, f.asn1.toDer(content).getBytes());
}

/**
 * ContentInfo of type encryptedData (RFC 7292 §4.1, PKCS#7 EncryptedData) holding `content`
 * encrypted as forge encrypts a private key: same algorithm identifier, same ciphertext.
 */
function encryptedContentInfo(f: Forge, content: unknown, password: string, pbe: object): unknown {
  const { asn1 } = f;
  const [algorithm, ciphertext] = f.pki.encryptPrivateKeyInfo(content, password, pbe).value;
  const encrypted = seq(f, [
    int(f, 0),
    seq(f, [oid(f, f.pki.oids.data), algorithm, asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, false, ciphertext.value)]),
  ]);
  return seq(f, [oid(f, f.pki.oids.encryptedData), explicit0(f, encrypted)]);
}

/** MacData: HMAC over the AuthenticatedSafe with a key from the PKCS#12 KDF (RFC 7292 App. B). */
function macData(f: Forge, authSafeDer: string, password: string, md: 'sha1' | 'sha256'): unknown {
  const salt = randomBytes(md === 'sha1' ? 8 : 16).toString('binary');
  const size = md === 'sha1' ? 20 : 32;
  const key = f.pkcs12.generateKey(password, f.util.createBuffer(salt), 3, ITERATIONS, size, f.md[md].create());
  const hmac = f.hmac.create();
  hmac.start(md, key);
  hmac.update(authSafeDer);
  const digestAlg = seq(f, [oid(f, f.pki.oids[md]), f.asn1.create(f.asn1.Class.UNIVERSAL, f.asn1.Type.NULL, false, '')]);
  return seq(f, [seq(f, [digestAlg, octets(f, hmac.digest().getBytes())]), octets(f, salt), int(f, ITERATIONS)]);
}

/**
 * The certificate set installed in CERT_DIR as the checks see it: the four files read through
 * the links, the leaf's details, and a SHA-256 of the key's public half (so two keys can be
 * compared without any key material leaving this module).
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFile, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { certificateInfo, parseCertificate, splitPemCertificates } from '../store/pem';
import { CERT_FILES, type CertificateInfo, type CertificateSet } from '../store/types';
import { codeOf } from './types';

/** What is installed in CERT_DIR, or why it could not be read. */
export interface InstalledSet {
  certDir: string;
  /** The files' contents; a file that could not be read is absent and named in `unreadable`. */
  set: Partial<CertificateSet>;
  /** File name → error code, for files that exist but could not be read (EACCES, …). */
  unreadable: Record<string, string>;
  /** The leaf (first certificate of cert.pem), when it parses. */
  info?: CertificateInfo;
  /** SHA-256 (hex) of the key's public key in SPKI DER form, when the key could be read. */
  keySpki?: string;
  /** Where privkey.pem really is (links followed). */
  keyPath?: string;
}

/** SHA-256 (hex) of a public key's SPKI DER encoding: how keys are compared. */
export function spkiSha256(key: KeyObject): string {
  return createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('hex');
}

/** The SPKI hash of a PEM private key, or undefined when it does not parse (no details: they could echo the key). */
export function privateKeySpki(pem: string): string | undefined {
  try {
    return spkiSha256(createPublicKey(createPrivateKey(pem)));
  } catch {
    return undefined;
  }
}

/** Reads CERT_DIR's files; null when nothing is installed (no cert.pem). */
export async function readInstalled(certDir: string): Promise<InstalledSet | null> {
  const set: Partial<CertificateSet> = {};
  const unreadable: Record<string, string> = {};
  for (const name of CERT_FILES) {
    try {
      set[name.replace('.pem', '') as keyof CertificateSet] = await readFile(join(certDir, name), 'utf8');
    } catch (err) {
      if (codeOf(err) !== 'ENOENT') unreadable[name] = codeOf(err);
    }
  }
  if (set.cert === undefined && !unreadable['cert.pem']) return null;
  const installed: InstalledSet = { certDir, set, unreadable };
  const leaf = set.cert ? splitPemCertificates(set.cert)[0] : undefined;
  if (leaf) {
    try {
      installed.info = certificateInfo(parseCertificate(leaf, 'cert.pem'));
    } catch {
      // reported by the certificate check
    }
  }
  if (set.privkey !== undefined) installed.keySpki = privateKeySpki(set.privkey);
  installed.keyPath = await realpath(join(certDir, 'privkey.pem')).catch(() => undefined);
  return installed;
}

/**
 * The last check before a certificate set is written anywhere: the key belongs to the leaf, the
 * leaf covers every name asked for, it is valid now, fullchain is cert + chain, and the chain
 * links up. Messages name certificates by subject, never by key material.
 */
import { createPrivateKey, createPublicKey, type X509Certificate } from 'node:crypto';
import { InstallError } from '../errors';
import { certificateInfo, parseCertificate, splitPemCertificates } from './pem';
import type { CertificateInfo, CertificateSet } from './types';

/** How far notBefore may lie in the future (clock skew between the CA and this machine). */
export const MAX_NOT_BEFORE_SKEW_MS = 5 * 60 * 1000;

/** Checks a freshly issued set against what was ordered; returns the leaf's info or throws InstallError. */
export function validateCertificateSet(
  set: CertificateSet,
  expect: { names: string[]; now: Date },
): CertificateInfo {
  const leafBlocks = splitPemCertificates(set.cert);
  if (leafBlocks.length !== 1) {
    throw new InstallError(`cert.pem must hold exactly one certificate, found ${leafBlocks.length}`);
  }
  const leaf = parseCertificate(leafBlocks[0], 'the leaf certificate (cert.pem)');
  const info = certificateInfo(leaf);
  checkKeyMatches(set.privkey, leaf);
  checkNames(info, expect.names);
  checkDates(info, expect.now);
  checkFullchain(set);
  checkChain(leaf, set.chain);
  return info;
}

/**
 * The check before a lineage is put back (rollback): one readable leaf whose key is the one
 * beside it. Names and dates are not required to match today's settings: it was served before.
 */
export function validateRestorable(set: CertificateSet, label: string): CertificateInfo {
  const leafBlocks = splitPemCertificates(set.cert);
  if (leafBlocks.length !== 1) throw new InstallError(`${label}: cert.pem must hold exactly one certificate, found ${leafBlocks.length}`);
  const leaf = parseCertificate(leafBlocks[0], `${label}: cert.pem`);
  try {
    checkKeyMatches(set.privkey, leaf);
  } catch (err) {
    throw new InstallError(`${label}: ${(err as Error).message}`);
  }
  return certificateInfo(leaf);
}

function checkKeyMatches(privkeyPem: string, leaf: X509Certificate): void {
  let ours: Buffer;
  try {
    ours = createPublicKey(createPrivateKey(privkeyPem)).export({ type: 'spki', format: 'der' });
  } catch {
    // No cause: a key parser's error could echo part of the key.
    throw new InstallError('the private key (privkey.pem) could not be read as a PEM private key');
  }
  const theirs = leaf.publicKey.export({ type: 'spki', format: 'der' });
  if (!ours.equals(theirs)) {
    throw new InstallError(
      `the private key does not match the public key of the certificate for ${describeLeaf(leaf)}`,
    );
  }
}

function checkNames(info: CertificateInfo, expected: string[]): void {
  const have = new Set(info.names.map((n) => n.toLowerCase()));
  const missing = expected.filter((n) => !have.has(n.toLowerCase()));
  if (missing.length > 0) {
    const covers = info.names.length > 0 ? info.names.join(', ') : 'no DNS names';
    throw new InstallError(
      `the certificate does not cover ${missing.join(', ')} (it covers ${covers})`,
    );
  }
}

function checkDates(info: CertificateInfo, now: Date): void {
  if (info.notBefore.getTime() > now.getTime() + MAX_NOT_BEFORE_SKEW_MS) {
    throw new InstallError(
      `the certificate is not valid before ${info.notBefore.toISOString()} but this machine's ` +
        `clock says ${now.toISOString()}; check the system clock (NTP)`,
    );
  }
  if (info.notAfter.getTime() <= now.getTime()) {
    throw new InstallError(
      `the certificate expired at ${info.notAfter.toISOString()} (now ${now.toISOString()})`,
    );
  }
}

/** PEM text compared line by line, ignoring blank lines, indentation and line endings. */
function normalisePem(pem: string): string {
  return pem
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .join('\n');
}

function checkFullchain(set: CertificateSet): void {
  if (normalisePem(set.fullchain) !== normalisePem(`${set.cert}\n${set.chain}`)) {
    throw new InstallError('fullchain.pem is not cert.pem followed by chain.pem');
  }
}

function checkChain(leaf: X509Certificate, chainPem: string): void {
  const blocks = splitPemCertificates(chainPem);
  if (blocks.length === 0) {
    if (!issuedBy(leaf, leaf)) {
      throw new InstallError(
        `chain.pem is empty but the certificate for ${describeLeaf(leaf)} is not self-signed`,
      );
    }
    return;
  }
  const certs = [leaf, ...blocks.map((b, i) => parseCertificate(b, `chain certificate ${i + 1}`))];
  for (let i = 0; i + 1 < certs.length; i++) {
    if (!issuedBy(certs[i], certs[i + 1])) {
      const what = i === 0 ? 'the leaf certificate' : `chain certificate ${i}`;
      throw new InstallError(
        `the chain does not link: ${what} (${subjectOf(certs[i])}) is not issued by ` +
          `chain certificate ${i + 1} (${subjectOf(certs[i + 1])})`,
      );
    }
  }
}

function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

function subjectOf(cert: X509Certificate): string {
  return cert.subject.split('\n').join(', ') || '(empty subject)';
}

function describeLeaf(leaf: X509Certificate): string {
  const names = certificateInfo(leaf).names;
  return names.length > 0 ? names.join(', ') : subjectOf(leaf);
}

/**
 * Reading certificates with node:crypto only (no ASN.1 library: loading one costs seconds on a
 * Raspberry Pi). Everything nrcert reports about a certificate comes from here.
 */
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { InstallError } from '../errors';
import { explainUnreachable } from '../privilege/traverse';
import { readFile } from '../util/fs-async';
import { CERT_FILES, type CertFileName, type CertificateInfo } from './types';

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** The PEM blocks of every certificate in a text, in order, each ending with one newline. */
export function splitPemCertificates(pem: string): string[] {
  return (pem.match(PEM_CERT) ?? []).map((block) => `${block}\n`);
}

/** Parses one PEM certificate, or throws InstallError naming `label` (never the content). */
export function parseCertificate(pem: string, label: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new InstallError(`${label} is not a valid PEM certificate`, { cause: err });
  }
}

/**
 * The DNS names of a node:crypto `subjectAltName` string ("DNS:a, DNS:b, IP Address:…").
 * Node quotes a value that holds a comma or a quote as a JSON string, so split outside quotes.
 */
export function parseSanDnsNames(san: string | undefined): string[] {
  if (!san) return [];
  const entries: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < san.length; i++) {
    const ch = san[i];
    if (ch === '"' && san[i - 1] !== '\\') quoted = !quoted;
    if (ch === ',' && !quoted) {
      entries.push(current.trim());
      current = '';
    } else {
      current += ch;
    }
  }
  entries.push(current.trim());
  return entries
    .filter((e) => e.startsWith('DNS:'))
    .map((e) => e.slice(4))
    .map((v) => (v.startsWith('"') ? (JSON.parse(v) as string) : v));
}

/** What nrcert reports about a certificate: SAN names, validity, serial, fingerprint, issuer. */
export function certificateInfo(pemOrX509: string | X509Certificate): CertificateInfo {
  const x509 =
    typeof pemOrX509 === 'string' ? parseCertificate(pemOrX509, 'the certificate') : pemOrX509;
  return {
    names: parseSanDnsNames(x509.subjectAltName),
    notBefore: new Date(x509.validFrom),
    notAfter: new Date(x509.validTo),
    serial: x509.serialNumber.toLowerCase(),
    fingerprint256: x509.fingerprint256,
    issuer: x509.issuer.split('\n').join(', '),
  };
}

/**
 * The names to show for a certificate: its SAN DNS names, or, for one with none (an imported
 * certificate that has only a subject CN), that CN. Only for reporting: clients ignore the CN,
 * so renewal and validation keep using `certificateInfo().names`.
 */
export function reportedNames(pemOrX509: string | X509Certificate): string[] {
  const x509 = typeof pemOrX509 === 'string' ? parseCertificate(pemOrX509, 'the certificate') : pemOrX509;
  const names = parseSanDnsNames(x509.subjectAltName);
  if (names.length > 0) return names;
  const cn = x509.subject.split('\n').find((line) => line.startsWith('CN='));
  return cn ? [cn.slice(3)] : [];
}

/** The absolute paths of the four files nrcert installs into a directory. */
export function certFilePaths(dir: string): Record<CertFileName, string> {
  const paths = {} as Record<CertFileName, string>;
  for (const name of CERT_FILES) paths[name] = join(dir, name);
  return paths;
}

/** What is installed: the certificate's facts, its PEM text (read once, for ARI), the file paths. */
export interface InstalledCertificate {
  info: CertificateInfo;
  pem: string;
  files: Record<CertFileName, string>;
}

/** The certificate installed in CERT_DIR (cert.pem, links followed), or null when there is none. */
export async function readInstalledCertificate(
  certDir: string,
): Promise<InstalledCertificate | null> {
  const files = certFilePaths(certDir);
  let pem: string;
  try {
    pem = await readFile(files['cert.pem'], 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    const traversal = (err as NodeJS.ErrnoException).code === 'EACCES' ? explainUnreachable(files['cert.pem']) : null;
    throw new InstallError(traversal ?? `cannot read ${files['cert.pem']}; check its permissions`, { cause: err });
  }
  const x509 = parseCertificate(pem, files['cert.pem']);
  return { info: certificateInfo(x509), files, pem };
}

/** The PEM texts of one certificate lineage, as issued: what gets validated, archived and installed. */
export interface CertificateSet {
  /** PKCS#8 or SEC1/PKCS#1 private key, PEM. Secret: never log it. */
  privkey: string;
  /** The leaf certificate, PEM. */
  cert: string;
  /** The intermediates, PEM, leaf's issuer first (may be empty for a self-signed leaf). */
  chain: string;
  /** cert + chain, PEM. */
  fullchain: string;
}

/** The file names nrcert installs into CERT_DIR, as Node-RED's settings.js reads them. */
export const CERT_FILES = ['privkey.pem', 'cert.pem', 'chain.pem', 'fullchain.pem'] as const;
export type CertFileName = (typeof CERT_FILES)[number];

/** What nrcert reports about a certificate (status, policy, validation). */
export interface CertificateInfo {
  /** DNS names from subjectAltName, in certificate order. */
  names: string[];
  notBefore: Date;
  notAfter: Date;
  /** Serial number, lower-case hex without separators. */
  serial: string;
  /** SHA-256 fingerprint, upper-case hex with colons (as node:crypto and openssl print it). */
  fingerprint256: string;
  /** Issuer distinguished name, one line. */
  issuer: string;
}

/** The certificate installed now: its lineage id (null for files nrcert did not install), facts and PEM. */
export interface Installed {
  id: string | null;
  info: CertificateInfo;
  pem: string;
}

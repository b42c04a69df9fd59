/**
 * Files under CERT_DIR's four names that nrcert did not make: typically a self-signed pair made
 * by hand before nrcert was set up. They are read so they can become a lineage of their own.
 */
import { lstat, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { InstallError } from '../errors';
import { splitPemCertificates } from './pem';
import { CERT_FILES, type CertFileName } from './types';

/** The link nrcert keeps at CERT_DIR/<name>. */
export function staticLinkTarget(name: CertFileName): string {
  return join('current', name);
}

/**
 * What CERT_DIR serves under the four names when some of them are not nrcert's static links
 * (plain files or other links), or null when all are (or are missing). Names that already are
 * static links are read through them, so the result is exactly what a reader sees now (this also
 * completes an import interrupted halfway). Missing files are derived where possible: cert and
 * chain from fullchain, fullchain from cert and chain.
 */
export async function readForeignFiles(
  certDir: string,
): Promise<Partial<Record<CertFileName, string>> | null> {
  const foreign: Partial<Record<CertFileName, string>> = {};
  const linked: CertFileName[] = [];
  for (const name of CERT_FILES) {
    const content = await readForeign(join(certDir, name), name);
    if (content === LINKED) linked.push(name);
    else if (content !== null) foreign[name] = content;
  }
  if (Object.keys(foreign).length === 0) return null;
  for (const name of linked) {
    const content = await readFile(join(certDir, name), 'utf8').catch(() => null);
    if (content !== null) foreign[name] = content;
  }
  return completeSet(foreign);
}

const LINKED = Symbol('static link');

async function readForeign(path: string, name: CertFileName): Promise<string | typeof LINKED | null> {
  const stat = await lstat(path).catch(() => null);
  if (!stat) return null;
  if (stat.isSymbolicLink() && (await readlink(path)) === staticLinkTarget(name)) return LINKED;
  if (stat.isDirectory()) {
    throw new InstallError(`${path} is a directory; move it away so nrcert can install ${name}`);
  }
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null; // a dangling link
    throw err;
  }
}

function completeSet(
  found: Partial<Record<CertFileName, string>>,
): Partial<Record<CertFileName, string>> {
  const files = { ...found };
  const full = files['fullchain.pem'] !== undefined ? splitPemCertificates(files['fullchain.pem']) : [];
  if (files['cert.pem'] === undefined && full.length > 0) files['cert.pem'] = full[0];
  if (files['chain.pem'] === undefined && (full.length > 0 || files['cert.pem'] !== undefined)) {
    files['chain.pem'] = full.slice(1).join('');
  }
  if (files['fullchain.pem'] === undefined && files['cert.pem'] !== undefined) {
    files['fullchain.pem'] = files['cert.pem'] + (files['chain.pem'] ?? '');
  }
  return files;
}

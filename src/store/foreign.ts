/**
 * Files under CERT_DIR's four names that nrcert did not make: typically a self-signed pair made
 * by hand before nrcert was set up. They are read so they can become a lineage of their own.
 * Synchronous, because a root run reads them as CERT_DIR's owner (see privilege/as-owner.ts).
 */
import { lstatSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { InstallError } from '../errors';
import { readRegularFileSync } from './atomic';
import { splitPemCertificates } from './pem';
import { CERT_FILES, type CertFileName } from './types';

/** The link nrcert keeps at CERT_DIR/<name>. */
export function staticLinkTarget(name: CertFileName): string {
  return join('current', name);
}

/**
 * What CERT_DIR serves under the four names when some of them are plain files nrcert did not
 * make, or null when all are its static links (or missing). Names that already are static links
 * are read through them, so the result is exactly what a reader sees now (this also completes an
 * import interrupted halfway). Missing files are derived where possible: cert and chain from
 * fullchain, fullchain from cert and chain.
 *
 * Only regular files are imported. A link of someone else's is refused, never read: a root run
 * would otherwise copy whatever it points at (say a root-only key) into a lineage that the
 * owner of CERT_DIR can read.
 */
export function readForeignFiles(certDir: string): Partial<Record<CertFileName, string>> | null {
  const foreign: Partial<Record<CertFileName, string>> = {};
  const linked: CertFileName[] = [];
  for (const name of CERT_FILES) {
    const content = readForeign(join(certDir, name), name);
    if (content === LINKED) linked.push(name);
    else if (content !== null) foreign[name] = content;
  }
  if (Object.keys(foreign).length === 0) return null;
  for (const name of linked) {
    const content = readThroughStaticLink(join(certDir, name));
    if (content !== null) foreign[name] = content;
  }
  return completeSet(foreign);
}

const LINKED = Symbol('static link');

function readForeign(path: string, name: CertFileName): string | typeof LINKED | null {
  let stat;
  try {
    stat = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  if (stat.isSymbolicLink()) {
    const target = readlinkSync(path);
    if (target === staticLinkTarget(name)) return LINKED;
    throw new InstallError(
      `${path} is a symlink to ${target} that nrcert did not make; nrcert imports only regular files and copied nothing. ` +
        `Replace the link with the file itself (cp --remove-destination "$(readlink -f ${path})" ${path}) or remove it, then run again`,
    );
  }
  if (stat.isDirectory()) {
    throw new InstallError(`${path} is a directory; move it away so nrcert can install ${name}`);
  }
  if (!stat.isFile()) throw new InstallError(`${path} is not a regular file; move it away so nrcert can install ${name}`);
  return readRegularFileSync(path);
}

/** A name that is nrcert's own `current/<name>` link, read through it; null when it dangles. */
function readThroughStaticLink(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
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

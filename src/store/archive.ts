/**
 * A private copy of recent lineages in STATE_DIR/archive/<id>/, so a certificate and its key
 * survive even when CERT_DIR is wiped or pruned. Only STATE_DIR's owner can read it. Run as root,
 * the work is done as STATE_DIR's owner (privilege/as-owner.ts); `archive` being a link is
 * refused, and pruning removes only real folders named by a lineage id.
 */
import { lstatSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { InstallError, NrcertError } from '../errors';
import { asOwnerOf } from '../privilege/as-owner';
import { ensureRealDirSync, fsyncDirSync, setDirModeSync, writeFileSyncedSync } from './atomic';
import { filesOfSet, isLineageId, readLineage } from './lineage';
import { CERT_FILES, type CertificateSet } from './types';
import { statePath } from './state-dir';

/** How many archived lineages are kept by default. */
export const ARCHIVE_KEEP = 5;

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Copies a lineage into STATE_DIR/archive/<id>/ (dir 0700, key 0600); keeps the newest `keep`. */
export async function archiveLineage(
  stateDir: string,
  id: string,
  set: CertificateSet,
  opts: { keep?: number } = {},
): Promise<string> {
  if (!SAFE_ID.test(id) || id.endsWith('.tmp')) {
    throw new InstallError(`cannot archive lineage "${id}": not a valid lineage id`);
  }
  const archiveDir = statePath(stateDir, 'archive');
  const final = join(archiveDir, id);
  try {
    asOwnerOf(stateDir, () => {
      ensureDirs(stateDir, archiveDir);
      writeArchiveDir(join(archiveDir, `${id}.tmp`), set);
      rmSync(final, { recursive: true, force: true });
      renameSync(join(archiveDir, `${id}.tmp`), final);
      fsyncDirSync(archiveDir);
      pruneArchive(archiveDir, opts.keep ?? ARCHIVE_KEEP);
    });
  } catch (err) {
    if (err instanceof NrcertError) throw err;
    throw new InstallError(`archiving certificate ${id} into ${archiveDir} failed`, { cause: err });
  }
  return final;
}

/** STATE_DIR (created if missing) and a real `archive` folder in it, mode 0700. */
function ensureDirs(stateDir: string, archiveDir: string): void {
  if (!lstatSync(stateDir, { throwIfNoEntry: false })) mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  ensureRealDirSync(archiveDir, 0o700);
  setDirModeSync(archiveDir, 0o700);
}

function writeArchiveDir(dir: string, set: CertificateSet): void {
  rmSync(dir, { recursive: true, force: true });
  ensureRealDirSync(dir, 0o700);
  setDirModeSync(dir, 0o700);
  const files = filesOfSet(set);
  for (const name of CERT_FILES) {
    writeFileSyncedSync(join(dir, name), files[name], name === 'privkey.pem' ? 0o600 : 0o644);
  }
  fsyncDirSync(dir);
}

/** Removes leftover `<id>.tmp` folders and all but the `keep` newest archived lineages; nothing else. */
function pruneArchive(archiveDir: string, keep: number): void {
  const entries = readdirSync(archiveDir, { withFileTypes: true });
  const ids: string[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory()) continue; // a link is never a directory here: it is left alone
    if (entry.name.endsWith('.tmp') && isLineageId(entry.name.slice(0, -4))) {
      rmSync(join(archiveDir, entry.name), { recursive: true, force: true });
    } else if (isLineageId(entry.name)) {
      ids.push(entry.name);
    }
  }
  ids.sort();
  for (const id of ids.slice(0, Math.max(0, ids.length - keep))) {
    rmSync(join(archiveDir, id), { recursive: true, force: true });
  }
}

/** The ids of the archived lineages, oldest first: real folders named by a lineage id (none when the archive is missing or unreadable). */
export async function listArchived(stateDir: string): Promise<string[]> {
  const dir = statePath(stateDir, 'archive');
  try {
    return asOwnerOf(dir, () => readdirSync(dir, { withFileTypes: true }))
      .filter((e) => e.isDirectory() && isLineageId(e.name)).map((e) => e.name).sort();
  } catch {
    return [];
  }
}

/** One archived lineage's files, read as STATE_DIR's owner, regular files only. */
export async function readArchived(stateDir: string, id: string): Promise<CertificateSet> {
  if (!isLineageId(id)) throw new InstallError(`"${id}" is not a lineage id`);
  const dir = statePath(stateDir, 'archive');
  return asOwnerOf(dir, () => readLineage(join(dir, id)));
}

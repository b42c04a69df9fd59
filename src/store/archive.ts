/**
 * A private copy of recent lineages in STATE_DIR/archive/<id>/, so a certificate and its key
 * survive even when CERT_DIR is wiped or pruned. Only root (or the nrcert user) can read it.
 */
import { chmod, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { InstallError } from '../errors';
import { fsyncDir, writeFileSynced } from './atomic';
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
    await mkdir(archiveDir, { recursive: true, mode: 0o700 });
    await chmod(archiveDir, 0o700);
    await writeArchiveDir(join(archiveDir, `${id}.tmp`), set);
    await rm(final, { recursive: true, force: true });
    await rename(join(archiveDir, `${id}.tmp`), final);
    await fsyncDir(archiveDir);
    await pruneArchive(archiveDir, opts.keep ?? ARCHIVE_KEEP);
  } catch (err) {
    throw new InstallError(`archiving certificate ${id} into ${archiveDir} failed`, { cause: err });
  }
  return final;
}

async function writeArchiveDir(dir: string, set: CertificateSet): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { mode: 0o700 });
  await chmod(dir, 0o700);
  const files = filesOfSet(set);
  for (const name of CERT_FILES) {
    await writeFileSynced(join(dir, name), files[name], name === 'privkey.pem' ? 0o600 : 0o644);
  }
  await fsyncDir(dir);
}

/** Removes leftover `.tmp` folders and all but the `keep` newest archived lineages. */
async function pruneArchive(archiveDir: string, keep: number): Promise<void> {
  const entries = await readdir(archiveDir, { withFileTypes: true });
  const ids: string[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    if (entry.name.endsWith('.tmp')) await rm(join(archiveDir, entry.name), { recursive: true, force: true });
    else ids.push(entry.name);
  }
  ids.sort();
  for (const id of ids.slice(0, Math.max(0, ids.length - keep))) {
    await rm(join(archiveDir, id), { recursive: true, force: true });
  }
}

/** The ids of the archived lineages, oldest first (none when the archive is missing or unreadable). */
export async function listArchived(stateDir: string): Promise<string[]> {
  const entries = await readdir(statePath(stateDir, 'archive'), { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory() && isLineageId(e.name)).map((e) => e.name).sort();
}

/** One archived lineage's files. */
export async function readArchived(stateDir: string, id: string): Promise<CertificateSet> {
  if (!isLineageId(id)) throw new InstallError(`"${id}" is not a lineage id`);
  return readLineage(join(statePath(stateDir, 'archive'), id));
}

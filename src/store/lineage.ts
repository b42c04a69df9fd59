/**
 * One lineage = one folder `CERT_DIR/.nrcert/<id>/` holding privkey, cert, chain and fullchain as
 * real files. A lineage is written under `<id>.tmp` and renamed when complete, so a folder named
 * by a plain id is always whole. Ids sort in install order (see nextLineageId).
 */
import { mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fsyncDirSync, readRegularFileSync, setDirModeSync, writeFileSyncedSync, type Ownership } from './atomic';
import { CERT_FILES, type CertFileName, type CertificateSet } from './types';

/** The folder inside CERT_DIR that holds the lineages. */
export const LINEAGES_DIR = '.nrcert';

/** Mode of CERT_DIR (when nrcert creates it), `.nrcert` and every lineage folder. */
export const DIR_MODE = 0o750;

const LINEAGE_ID = /^(\d{8}T\d{6}Z)-([0-9a-z]+)$/;

/** True when `name` is a complete lineage's id such as `20261123T071500Z-3fa2c1`. */
export function isLineageId(name: string): boolean {
  return LINEAGE_ID.test(name);
}

/** A UTC time as the compact, sortable form used in ids: `20261123T071500Z`. */
export function formatTimestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

function parseTimestamp(ts: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(ts);
  if (!m) return 0;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
  return Date.UTC(y, mo - 1, d, h, mi, s);
}

/**
 * A new id that sorts after every existing one. A Raspberry Pi has no battery clock and may boot
 * with a clock in the past, and two installs can fall in one second: the timestamp then moves one
 * second past the newest existing id, so "newest id" always means "installed last".
 */
export function nextLineageId(existing: string[], now: Date, suffix: string): string {
  let time = Math.floor(now.getTime() / 1000) * 1000;
  for (const id of existing) {
    const match = LINEAGE_ID.exec(id);
    if (match) time = Math.max(time, parseTimestamp(match[1]) + 1000);
  }
  return `${formatTimestamp(new Date(time))}-${suffix}`;
}

/** The ids of the complete lineages in a `.nrcert` folder, oldest first (real folders only, never links). */
export function listLineages(lineagesDir: string): string[] {
  let entries;
  try {
    entries = readdirSync(lineagesDir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return entries
    .filter((e) => e.isDirectory() && isLineageId(e.name))
    .map((e) => e.name)
    .sort();
}

/** Applies mode and ownership to a directory nrcert manages (through a descriptor, never a link). */
export function setDirAccess(dir: string, ownership: Ownership): void {
  setDirModeSync(dir, DIR_MODE, ownership);
}

/** Mode of a lineage file: the key is private, or group-readable when a group is configured. */
export function fileMode(name: CertFileName, ownership: Ownership): number {
  if (name !== 'privkey.pem') return 0o644;
  return ownership.group !== undefined ? 0o640 : 0o600;
}

/**
 * Writes the given files as lineage `id`: into `<id>.tmp`, fsynced, then renamed to `<id>`. The
 * files get `ownership`, the folder `folderOwnership` (by default the same).
 */
export function writeLineage(
  lineagesDir: string,
  id: string,
  files: Partial<Record<CertFileName, string>>,
  ownership: Ownership,
  folderOwnership: Ownership = ownership,
): string {
  const temp = join(lineagesDir, `${id}.tmp`);
  const final = join(lineagesDir, id);
  rmSync(temp, { recursive: true, force: true });
  mkdirSync(temp);
  try {
    setDirAccess(temp, folderOwnership);
    for (const name of CERT_FILES) {
      const data = files[name];
      if (data !== undefined) {
        writeFileSyncedSync(join(temp, name), data, fileMode(name, ownership), ownership);
      }
    }
    fsyncDirSync(temp);
    renameSync(temp, final);
  } catch (err) {
    rmSync(temp, { recursive: true, force: true });
    throw err;
  }
  fsyncDirSync(lineagesDir);
  return final;
}

/** Reads the four files of a lineage folder back as a CertificateSet (regular files only). */
export function readLineage(lineageDir: string): CertificateSet {
  const [privkey, cert, chain, fullchain] = CERT_FILES.map((name) => {
    const text = readRegularFileSync(join(lineageDir, name));
    if (text === null) throw Object.assign(new Error(`ENOENT: no such file, open '${join(lineageDir, name)}'`), { code: 'ENOENT' });
    return text;
  });
  return { privkey, cert, chain, fullchain };
}

/** A CertificateSet keyed by the file names it is stored under. */
export function filesOfSet(set: CertificateSet): Record<CertFileName, string> {
  return {
    'privkey.pem': set.privkey,
    'cert.pem': set.cert,
    'chain.pem': set.chain,
    'fullchain.pem': set.fullchain,
  };
}

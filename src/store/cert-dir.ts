/**
 * CERT_DIR as Node-RED sees it. Node-RED reads privkey.pem and fullchain.pem separately, so the
 * four names are static relative symlinks into `current`, and `current` is one relative symlink to
 * a complete lineage folder: one rename switches all four files at once, and a crash at any point
 * leaves either the old or the new set. Relative links keep working when CERT_DIR is mounted into
 * a container at another path.
 *
 *   CERT_DIR/privkey.pem -> current/privkey.pem   (and cert, chain, fullchain)
 *   CERT_DIR/current     -> .nrcert/20261123T071500Z-3fa2c1
 *   CERT_DIR/.nrcert/20261123T071500Z-3fa2c1/{privkey,cert,chain,fullchain}.pem
 */
import { mkdir, readlink, readdir, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { InstallError, NrcertError } from '../errors';
import { isTempName, symlinkAtomic, type Ownership } from './atomic';
import { readForeignFiles, staticLinkTarget } from './foreign';
import {
  LINEAGES_DIR, filesOfSet, isLineageId, listLineages, nextLineageId, readLineage, setDirAccess, writeLineage,
} from './lineage';
import { certFilePaths, certificateInfo, readInstalledCertificate } from './pem';
import { CERT_FILES, type CertFileName, type CertificateSet, type Installed } from './types';

/** How FileCertStore creates and keeps files. */
export interface FileCertStoreOptions {
  /** uid to own the lineage files (needs root); default: the running user. */
  owner?: number;
  /** gid that may read the key (privkey 0640 instead of 0600), e.g. Node-RED's group. */
  group?: number;
  /** Previous lineages kept besides `current` (default 2). */
  keepPrevious?: number;
  /** The time source for lineage ids (default: the system clock). */
  clock?: () => Date;
}

/** The lineage `current` points at, with the absolute paths of its real files. */
export interface CurrentLineage {
  id: string;
  dir: string;
  files: Record<CertFileName, string>;
}

/** What one install did. */
export interface InstallResult {
  /** The new current lineage. */
  id: string;
  /** The lineage made from plain files found in CERT_DIR, if there were any. */
  importedId: string | null;
  /** Lineages removed because they were older than the ones kept. */
  pruned: string[];
}

const CURRENT = 'current';
const NO_PREVIOUS = 'no previous certificate to roll back to; keeping the current one';

/** Certificate lineages in CERT_DIR, switched atomically under stable file names. */
export class FileCertStore {
  private readonly lineagesDir: string;
  private readonly ownership: Ownership;
  private readonly keepPrevious: number;
  private readonly clock: () => Date;

  constructor(
    readonly dir: string,
    options: FileCertStoreOptions = {},
  ) {
    this.lineagesDir = join(dir, LINEAGES_DIR);
    this.ownership = { owner: options.owner, group: options.group };
    this.keepPrevious = options.keepPrevious ?? 2;
    this.clock = options.clock ?? (() => new Date());
  }

  /** The installed lineage, or null when nothing (or a dangling `current`) is there. */
  async current(): Promise<CurrentLineage | null> {
    const link = join(this.dir, CURRENT);
    let target: string;
    try {
      target = await readlink(link);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return null;
      throw new InstallError(`${link} is not a symlink; move it away and install again`, { cause: err });
    }
    const id = basename(target);
    if (dirname(target) !== LINEAGES_DIR || !isLineageId(id)) {
      throw new InstallError(`${link} points at ${target}, not at a lineage in ${LINEAGES_DIR}/; remove it`);
    }
    if (!(await this.lineages()).includes(id)) return null;
    const dir = join(this.lineagesDir, id);
    return { id, dir, files: certFilePaths(dir) };
  }

  /** What is installed (cert.pem through the links, read once) and its lineage id when nrcert installed it. */
  async installed(): Promise<Installed | null> {
    const cert = await readInstalledCertificate(this.dir);
    if (!cert) return null;
    const current = await this.current().catch(() => null);
    return { id: current?.id ?? null, info: cert.info, pem: cert.pem };
  }

  /** The id of the newest lineage older than `current`, or null. */
  async previous(): Promise<string | null> {
    const current = await this.current();
    if (!current) return null;
    const older = (await this.lineages()).filter((id) => id < current.id);
    return older.length > 0 ? older[older.length - 1] : null;
  }

  /** The ids of all complete lineages, oldest first. */
  async lineages(): Promise<string[]> {
    return listLineages(this.lineagesDir);
  }

  /** The files of one lineage. */
  async read(id: string): Promise<CertificateSet> {
    return readLineage(join(this.lineagesDir, id));
  }

  /** Writes `set` (already validated by the caller) as a new lineage and makes it current. */
  async install(set: CertificateSet, opts: { now?: Date; protect?: string[] } = {}): Promise<InstallResult> {
    return this.wrap('installing the certificate', async () => {
      const now = opts.now ?? this.clock();
      await this.prepareDirs();
      const importedId = await this.importForeignFiles(now);
      const id = nextLineageId(await this.lineages(), now, shortSerial(set.cert));
      await writeLineage(this.lineagesDir, id, filesOfSet(set), this.ownership);
      await this.point(id);
      return { id, importedId, pruned: await this.prune(id, opts.protect ?? []) };
    });
  }

  /** Points `current` back at the previous lineage; returns its id. */
  async rollback(): Promise<string> {
    return this.wrap('rolling back', async () => {
      const previous = await this.previous();
      if (!previous) throw new InstallError(NO_PREVIOUS);
      const present = await readdir(join(this.lineagesDir, previous));
      const missing = CERT_FILES.filter((name) => !present.includes(name));
      if (missing.length > 0) {
        throw new InstallError(
          `the previous certificate ${previous} lacks ${missing.join(', ')}; keeping the current one`,
        );
      }
      await this.point(previous);
      return previous;
    });
  }

  /** Makes lineage `id` current (one atomic swap of `current`). */
  async switchTo(id: string): Promise<void> {
    return this.wrap('switching the certificate', async () => {
      if (!(await this.lineages()).includes(id)) throw new InstallError(`there is no certificate ${id} in ${this.lineagesDir}`);
      await this.point(id);
    });
  }

  /** Writes an archived set back under its own id (for `rollback --to` a lineage CERT_DIR pruned). */
  async restore(id: string, set: CertificateSet): Promise<void> {
    return this.wrap('restoring the certificate', async () => {
      if (!isLineageId(id)) throw new InstallError(`"${id}" is not a lineage id`);
      await this.prepareDirs();
      if (!(await this.lineages()).includes(id)) await writeLineage(this.lineagesDir, id, filesOfSet(set), this.ownership);
    });
  }

  /** Runs one step, turning a file-system failure into an InstallError that names CERT_DIR. */
  private async wrap<T>(what: string, step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (err) {
      if (err instanceof NrcertError) throw err;
      throw new InstallError(
        `${what} in ${this.dir} failed (${(err as Error).message}); ` +
          'check that folder and its permissions, then run nrcert again',
        { cause: err },
      );
    }
  }

  /** Swaps `current` to lineage `id`, then makes sure the four static links exist. */
  private async point(id: string): Promise<void> {
    await symlinkAtomic(join(LINEAGES_DIR, id), join(this.dir, CURRENT));
    for (const name of CERT_FILES) {
      const path = join(this.dir, name);
      const target = staticLinkTarget(name);
      const existing = await readlink(path).catch(() => null);
      if (existing !== target) await symlinkAtomic(target, path);
    }
  }

  /** Creates CERT_DIR and `.nrcert` if needed, and removes leftovers of an interrupted run. */
  private async prepareDirs(): Promise<void> {
    const created = await mkdir(this.dir, { recursive: true });
    if (created !== undefined) await setDirAccess(this.dir, this.ownership);
    await mkdir(this.lineagesDir, { recursive: true });
    await setDirAccess(this.lineagesDir, this.ownership);
    for (const name of await readdir(this.lineagesDir)) {
      if (name.endsWith('.tmp')) await rm(join(this.lineagesDir, name), { recursive: true, force: true });
    }
    const ours = [CURRENT, ...CERT_FILES].map((n) => `.${n}.`);
    for (const name of await readdir(this.dir)) {
      if (isTempName(name) && ours.some((prefix) => name.startsWith(prefix))) {
        await rm(join(this.dir, name), { force: true });
      }
    }
  }

  /**
   * Plain files (or links of someone else) under the four names, such as a hand-made self-signed
   * certificate, become a lineage of their own that `current` points at; the names are then
   * replaced by the static links, one by one, while both resolve to the same bytes.
   */
  private async importForeignFiles(now: Date): Promise<string | null> {
    const files = await readForeignFiles(this.dir);
    if (!files) return null;
    const id = nextLineageId(await this.lineages(), now, 'imported');
    await writeLineage(this.lineagesDir, id, files, this.ownership);
    await this.point(id);
    return id;
  }

  /**
   * Removes all lineages but `currentId`, the `protect`ed ones (the rollback targets) and the
   * `keepPrevious` newest others. Best effort: the new set is already in place, so a folder that
   * cannot be removed now is retried next time.
   */
  private async prune(currentId: string, protect: string[]): Promise<string[]> {
    const others = (await this.lineages()).filter((id) => id !== currentId && !protect.includes(id));
    const pruned: string[] = [];
    for (const id of others.slice(0, Math.max(0, others.length - this.keepPrevious))) {
      const removed = await rm(join(this.lineagesDir, id), { recursive: true, force: true }).then(
        () => true,
        () => false,
      );
      if (removed) pruned.push(id);
    }
    return pruned;
  }
}

/** The first six hex digits of the leaf's serial, for a readable lineage id. */
function shortSerial(certPem: string): string {
  try {
    return certificateInfo(certPem).serial.slice(0, 6) || 'unknown';
  } catch {
    return 'unknown';
  }
}


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
import { mkdirSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { InstallError, NrcertError } from '../errors';
import { asUser, ownerOf, type NotPromise } from '../privilege/as-owner';
import { certDirActor, certDirFolderOwnership } from '../privilege/cert-dir';
import { ensureRealDirSync, isTempName, symlinkAtomicSync, type Ownership } from './atomic';
import { readForeignFiles, staticLinkTarget } from './foreign';
import {
  DIR_MODE, LINEAGES_DIR, filesOfSet, isLineageId, listLineages, nextLineageId, readLineage, setDirAccess, writeLineage,
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

/**
 * Certificate lineages in CERT_DIR, switched atomically under stable file names.
 *
 * Run as root, every file step happens as CERT_DIR's owner (privilege/as-owner.ts), so a link
 * that owner planted can lead nowhere they could not reach themselves, and what nrcert creates
 * belongs to them. CERT_OWNER, when set, must be that owner, unless CERT_DIR is root's: then root
 * works there as itself and gives the files (not the folders) to CERT_OWNER.
 */
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
    return this.asOwner(() => this.currentSync());
  }

  /** What is installed (cert.pem through the links, read once) and its lineage id when nrcert installed it. */
  async installed(): Promise<Installed | null> {
    const cert = await readInstalledCertificate(this.dir);
    if (!cert) return null;
    const current = await this.current().catch(() => null);
    return { id: current?.id ?? null, info: cert.info, pem: cert.pem };
  }

  /** The ids of all complete lineages, oldest first. */
  async lineages(): Promise<string[]> {
    return this.asOwner(() => listLineages(this.lineagesDir));
  }

  /** The files of one lineage. */
  async read(id: string): Promise<CertificateSet> {
    return this.asOwner(() => readLineage(join(this.lineagesDir, id)));
  }

  /** Writes `set` (already validated by the caller) as a new lineage and makes it current. */
  async install(set: CertificateSet, opts: { now?: Date; protect?: string[] } = {}): Promise<InstallResult> {
    return this.wrap('installing the certificate', async () => {
      const now = opts.now ?? this.clock();
      this.createCertDir();
      return this.asOwner(() => {
        this.prepareDirs();
        const importedId = this.importForeignFiles(now);
        const id = nextLineageId(listLineages(this.lineagesDir), now, shortSerial(set.cert));
        writeLineage(this.lineagesDir, id, filesOfSet(set), this.ownership, this.folderOwnership());
        this.point(id);
        return { id, importedId, pruned: this.prune(id, opts.protect ?? []) };
      }, true);
    });
  }

  /** Makes lineage `id` current (one atomic swap of `current`). */
  async switchTo(id: string): Promise<void> {
    return this.wrap('switching the certificate', async () =>
      this.asOwner(() => {
        if (!listLineages(this.lineagesDir).includes(id)) throw new InstallError(`there is no certificate ${id} in ${this.lineagesDir}`);
        this.point(id);
      }, true),
    );
  }

  /** Writes an archived set back under its own id (for `rollback --to` a lineage CERT_DIR pruned). */
  async restore(id: string, set: CertificateSet): Promise<void> {
    if (!isLineageId(id)) throw new InstallError(`"${id}" is not a lineage id`);
    return this.wrap('restoring the certificate', async () => {
      this.createCertDir();
      this.asOwner(() => {
        this.prepareDirs();
        if (!listLineages(this.lineagesDir).includes(id)) writeLineage(this.lineagesDir, id, filesOfSet(set), this.ownership, this.folderOwnership());
      }, true);
    });
  }

  private currentSync(): CurrentLineage | null {
    const link = join(this.dir, CURRENT);
    let target: string;
    try {
      target = readlinkSync(link);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return null;
      throw new InstallError(`${link} is not a symlink; move it away and install again`, { cause: err });
    }
    const id = basename(target);
    if (dirname(target) !== LINEAGES_DIR || !isLineageId(id)) {
      throw new InstallError(`${link} points at ${target}, not at a lineage in ${LINEAGES_DIR}/; remove it`);
    }
    if (!listLineages(this.lineagesDir).includes(id)) return null;
    const dir = join(this.lineagesDir, id);
    return { id, dir, files: certFilePaths(dir) };
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

  /** Runs synchronous file work in CERT_DIR as privilege/cert-dir.ts says; `changes` when it writes. */
  private asOwner<T>(work: () => NotPromise<T>, changes = false): T {
    const who = certDirActor(this.dir, this.ownership, changes);
    return who ? asUser(who, work) : work();
  }

  private folderOwnership(): Ownership {
    return certDirFolderOwnership(this.dir, this.ownership);
  }

  /** Swaps `current` to lineage `id`, then makes sure the four static links exist. */
  private point(id: string): void {
    symlinkAtomicSync(join(LINEAGES_DIR, id), join(this.dir, CURRENT));
    for (const name of CERT_FILES) {
      const path = join(this.dir, name);
      const target = staticLinkTarget(name);
      let existing: string | null = null;
      try {
        existing = readlinkSync(path);
      } catch {
        /* missing, or a plain file: replaced below */
      }
      if (existing !== target) symlinkAtomicSync(target, path);
    }
  }

  /** Creates a missing CERT_DIR (and its parents) as the owner of the folder it is created in. */
  private createCertDir(): void {
    const owner = ownerOf(dirname(this.dir));
    asUser({ uid: owner.uid, gid: this.ownership.group ?? owner.gid }, () => {
      const created = mkdirSync(this.dir, { recursive: true });
      if (created !== undefined) {
        setDirAccess(this.dir, owner.uid === 0 ? this.ownership : { group: this.ownership.group });
      }
    });
  }

  /** Creates `.nrcert` if needed (never through a link), and removes leftovers of an interrupted run. */
  private prepareDirs(): void {
    ensureRealDirSync(this.lineagesDir, DIR_MODE);
    setDirAccess(this.lineagesDir, this.folderOwnership());
    for (const name of readdirSync(this.lineagesDir)) {
      if (name.endsWith('.tmp') && isLineageId(name.slice(0, -4))) {
        rmSync(join(this.lineagesDir, name), { recursive: true, force: true });
      }
    }
    const ours = [CURRENT, ...CERT_FILES].map((n) => `.${n}.`);
    for (const name of readdirSync(this.dir)) {
      if (isTempName(name) && ours.some((prefix) => name.startsWith(prefix))) {
        rmSync(join(this.dir, name), { force: true });
      }
    }
  }

  /**
   * Plain files under the four names, such as a hand-made self-signed certificate, become a
   * lineage of their own that `current` points at; the names are then replaced by the static
   * links, one by one, while both resolve to the same bytes. Links nrcert did not make are refused.
   */
  private importForeignFiles(now: Date): string | null {
    const files = readForeignFiles(this.dir);
    if (!files) return null;
    const id = nextLineageId(listLineages(this.lineagesDir), now, 'imported');
    writeLineage(this.lineagesDir, id, files, this.ownership, this.folderOwnership());
    this.point(id);
    return id;
  }

  /**
   * Removes all lineages but `currentId`, the `protect`ed ones (the rollback targets) and the
   * `keepPrevious` newest others: only real folders named by a lineage id. Best effort: the new
   * set is already in place, so a folder that cannot be removed now is retried next time.
   */
  private prune(currentId: string, protect: string[]): string[] {
    const others = listLineages(this.lineagesDir).filter((id) => id !== currentId && !protect.includes(id));
    const pruned: string[] = [];
    for (const id of others.slice(0, Math.max(0, others.length - this.keepPrevious))) {
      try {
        rmSync(join(this.lineagesDir, id), { recursive: true, force: true });
        pruned.push(id);
      } catch {
        /* retried next time */
      }
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


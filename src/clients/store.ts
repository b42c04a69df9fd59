/**
 * The client-certificate CA on disk, in STATE_DIR/clients (names in store/state-dir.ts):
 *
 *   ca.key        the CA's private key, 0600, written once and never overwritten
 *   ca.pem        the CA certificate (settings.js gives it to Node-RED as `ca`)
 *   crl.pem       the CRL, re-signed at every revocation (settings.js gives it as `crl`)
 *   clients.json  every certificate issued: name, serial, dates, revokedAt; never a key or password
 *
 * `init` builds the folder beside its final name and renames it into place, so a CA is either
 * complete or absent. `add` writes NAME.p12 and NAME.pem to temporary names first, records the
 * certificate, then renames them: a failure at any step leaves no file and no record behind.
 * Run as root, the file work happens as STATE_DIR's owner (privilege/as-owner.ts).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { ClientExistsError, ClientOutputError, NoClientCaError, UnknownClientError, UsageError } from '../errors';
import { asOwnerOf } from '../privilege/as-owner';
import { ensureStateDir } from '../store/state';
import { writeFileAtomicSync, writeFileSyncedSync, fsyncDirSync } from '../store/atomic';
import { clientPath, CLIENT_FILES, STATE_FILES } from '../store/state-dir';
import type { CaMaterial } from './ca';
import type { P12Flavour } from './pkcs12';

/** One issued client certificate, as clients.json keeps it. */
export interface ClientRecord {
  name: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  revokedAt: string | null;
  p12: P12Flavour;
}

/** clients.json. */
export interface ClientRegistry {
  version: 1;
  /** The number of the CRL last signed (RFC 5280 §5.2.3). */
  crlNumber: number;
  clients: ClientRecord[];
}

/** What `add` wrote. */
export interface AddResult {
  record: ClientRecord;
  p12Path: string;
  pemPath: string;
}

/** Names: a letter or digit, then letters, digits, dot, dash, underscore; at most 64. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A UsageError naming what is wrong with a client name, or nothing when it is fine. */
export function checkClientName(name: string | undefined): string {
  if (name === undefined || name === '') throw new UsageError('a client name is needed, e.g. nrcert clients add phone');
  if (!NAME.test(name)) {
    throw new UsageError(`client name "${name.slice(0, 80)}" is not allowed: use 1-64 letters, digits, ".", "-" or "_", starting with a letter or digit`);
  }
  return name;
}

/** The client CA of one STATE_DIR. */
export class ClientCaStore {
  constructor(readonly stateDir: string) {}

  /** STATE_DIR/clients */
  get dir(): string {
    return join(this.stateDir, STATE_FILES.clients);
  }

  /** True when a CA (key or certificate) already exists. */
  exists(): boolean {
    return existsSync(clientPath(this.stateDir, 'caKey')) || existsSync(clientPath(this.stateDir, 'caCert'));
  }

  /** Writes a new CA with its empty CRL; false (nothing written) when one exists already. */
  create(ca: CaMaterial, crlPem: string): boolean {
    if (this.exists()) return false;
    const registry: ClientRegistry = { version: 1, crlNumber: 1, clients: [] };
    ensureStateDir(this.stateDir);
    return asOwnerOf(this.stateDir, () => {
      const temp = join(this.stateDir, `.clients.${randomBytes(4).toString('hex')}.tmp`);
      try {
        mkdirSync(temp, { mode: 0o755 });
        writeFileSyncedSync(join(temp, CLIENT_FILES.caKey), ca.keyPem, 0o600);
        writeFileSyncedSync(join(temp, CLIENT_FILES.caCert), ca.certPem, 0o644);
        writeFileSyncedSync(join(temp, CLIENT_FILES.crl), crlPem, 0o644);
        writeFileSyncedSync(join(temp, CLIENT_FILES.registry), `${JSON.stringify(registry, null, 2)}\n`, 0o600);
        fsyncDirSync(temp);
        if (existsSync(this.dir)) return false;
        renameSync(temp, this.dir);
        fsyncDirSync(this.stateDir);
        return true;
      } finally {
        rmSync(temp, { recursive: true, force: true });
      }
    });
  }

  /** The CA's certificate and key, or NoClientCaError. */
  ca(): CaMaterial {
    if (!this.exists()) throw this.noCa();
    return asOwnerOf(this.stateDir, () => ({
      certPem: readFileSync(clientPath(this.stateDir, 'caCert'), 'utf8'),
      keyPem: readFileSync(clientPath(this.stateDir, 'caKey'), 'utf8'),
    }));
  }

  /** The CA certificate (PEM), or null when there is no CA. */
  caCert(): string | null {
    try {
      return readFileSync(clientPath(this.stateDir, 'caCert'), 'utf8');
    } catch {
      return null;
    }
  }

  /** The CRL (PEM), or null when there is none. */
  crl(): string | null {
    try {
      return readFileSync(clientPath(this.stateDir, 'crl'), 'utf8');
    } catch {
      return null;
    }
  }

  /** clients.json, or NoClientCaError when there is no CA. */
  registry(): ClientRegistry {
    if (!this.exists()) throw this.noCa();
    const text = asOwnerOf(this.stateDir, () => readFileSync(clientPath(this.stateDir, 'registry'), 'utf8'));
    return JSON.parse(text) as ClientRegistry;
  }

  /** The active (not revoked) certificate of `name`, if any. */
  active(name: string): ClientRecord | undefined {
    return this.registry().clients.find((c) => c.name === name && c.revokedAt === null);
  }

  /** Throws ClientExistsError when `name` has an active certificate, ClientOutputError when its files exist in `outDir`. */
  checkAddable(name: string, outDir: string): void {
    if (this.active(name)) {
      throw new ClientExistsError(`a certificate named "${name}" is already issued; revoke it first (nrcert clients revoke ${name}) or pick another name`);
    }
    for (const file of [join(outDir, `${name}.p12`), join(outDir, `${name}.pem`)]) {
      if (existsSync(file)) throw new ClientOutputError(`${file} already exists; move it away or pass another --out DIR. Nothing was issued`);
    }
  }

  /**
   * Writes NAME.p12 (0600) and NAME.pem (0644) into `outDir` and records the certificate, all or
   * nothing: an unwritable `outDir` is a ClientOutputError and leaves no file and no record.
   */
  add(record: ClientRecord, p12: Buffer, certPem: string, outDir: string): AddResult {
    this.checkAddable(record.name, outDir);
    const p12Path = join(outDir, `${record.name}.p12`);
    const pemPath = join(outDir, `${record.name}.pem`);
    const tag = randomBytes(4).toString('hex');
    const temps = [`${p12Path}.${tag}.tmp`, `${pemPath}.${tag}.tmp`];
    try {
      writeFileSyncedSync(temps[0], p12, 0o600);
      writeFileSyncedSync(temps[1], certPem, 0o644);
    } catch (err) {
      removeQuietly(temps);
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new ClientOutputError(`cannot write ${basename(p12Path)} into ${outDir} (${code}); pass a folder you can write with --out DIR. Nothing was issued`, { cause: err });
    }
    try {
      const registry = this.registry();
      registry.clients.push(record);
      this.writeRegistry(registry);
      renameSync(temps[0], p12Path);
      renameSync(temps[1], pemPath);
      fsyncDirSync(dirname(p12Path));
    } finally {
      removeQuietly(temps);
    }
    return { record, p12Path, pemPath };
  }

  /**
   * Records a certificate whose PKCS#12 the caller wrote itself (the editor's spool leaves it in
   * EDITOR_DIR/requests); ClientExistsError when `name` has an active certificate.
   */
  record(record: ClientRecord): void {
    if (this.active(record.name)) {
      throw new ClientExistsError(`a certificate named "${record.name}" is already issued; revoke it first or pick another name`);
    }
    const registry = this.registry();
    registry.clients.push(record);
    this.writeRegistry(registry);
  }

  /**
   * Marks the active certificate of `name` revoked at `now` and installs the CRL `sign` makes
   * from the new list: the CRL first, so a crash in between errs on the side of refusing.
   * Returns null when `name` has only revoked certificates (the CRL is still signed again).
   */
  async revoke(name: string, now: Date, sign: (registry: ClientRegistry) => Promise<string>): Promise<ClientRecord | null> {
    const registry = this.registry();
    const all = registry.clients.filter((c) => c.name === name);
    if (all.length === 0) {
      throw new UnknownClientError(`no client certificate named "${name}"; nrcert clients list shows the names`);
    }
    // Already revoked: the CRL is signed again all the same, which repairs a damaged or stale one.
    const record = all.find((c) => c.revokedAt === null);
    if (record) record.revokedAt = now.toISOString();
    registry.crlNumber += 1;
    const crlPem = await sign(registry);
    asOwnerOf(this.stateDir, () => writeFileAtomicSync(clientPath(this.stateDir, 'crl'), crlPem, 0o644));
    this.writeRegistry(registry);
    return record ?? null;
  }

  private writeRegistry(registry: ClientRegistry): void {
    asOwnerOf(this.stateDir, () => writeFileAtomicSync(clientPath(this.stateDir, 'registry'), `${JSON.stringify(registry, null, 2)}\n`, 0o600));
  }

  private noCa(): NoClientCaError {
    return new NoClientCaError(`there is no client CA in ${this.dir} yet; run nrcert clients init first`);
  }
}

/** Removes temporary files that may not exist, in a folder that may not be one. */
function removeQuietly(paths: string[]): void {
  for (const p of paths) {
    try {
      rmSync(p, { force: true });
    } catch {
      // ENOTDIR and the like: nothing was written there
    }
  }
}

/** Everything a CRL lists: every revoked certificate of the registry. */
export function revokedEntries(registry: ClientRegistry): Array<{ serial: string; revokedAt: Date }> {
  return registry.clients.filter((c) => c.revokedAt !== null).map((c) => ({ serial: c.serial, revokedAt: new Date(c.revokedAt!) }));
}

/** Reads a password for --password-file: its first line, at least 8 characters. */
export function passwordFromFileText(text: string, file: string): string {
  const line = text.split(/\r?\n/)[0] ?? '';
  if (line.length < 8) throw new UsageError(`--password-file: the first line of ${file} must hold a password of at least 8 characters`);
  return line;
}

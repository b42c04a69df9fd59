/**
 * What the renewal engine talks to, as small interfaces (certmagic's Storage/Locker shape). The
 * CLI builds the file-backed ones (`cli/renew-deps.ts`); the unit tests pass in-memory fakes
 * (`test/fakes/renewal-ports.ts`). The engine never learns which DNS provider, store or
 * deployment it runs on.
 */
import type { CertificateInfo, CertificateSet, Installed } from '../store/types';
import type { NotifyEvent } from '../service/notify';
import type { ServiceStatus } from '../service/status-file';
import type { RenewalInfo } from '../acme/ari';
import type { RenewalState } from './state';

/** One certificate order: the names, the CA, the certificate it replaces (ARI), a note when the order is placed. */
export interface IssueRequest {
  names: string[];
  directoryUrl: string;
  replaces?: string;
  /** Called once, just before the ACME order is placed: failures before it cost no CA budget. */
  onOrder(): void;
}

/** Obtains a certificate set (ACME + DNS provider); the TXT records are its business. */
export interface Issuer {
  issue(request: IssueRequest): Promise<CertificateSet>;
  /** TXT records it created in this run and could not remove (reported, and swept next time). */
  leftovers(): string[];
}

/** The lineages in CERT_DIR and the one switch between them. */
export interface CertStore {
  /** What is installed, read once per run. */
  installed(): Promise<Installed | null>;
  /** The ids of the lineages in CERT_DIR, oldest first. */
  lineages(): Promise<string[]>;
  read(id: string): Promise<CertificateSet>;
  /** Writes a validated set as a new lineage and switches to it; `protect` are never pruned. */
  install(set: CertificateSet, opts: { protect: string[] }): Promise<{ id: string }>;
  /** Switches CERT_DIR to lineage `id` (one atomic swap). */
  switchTo(id: string): Promise<void>;
}

/** A private copy of each lineage beside the state (STATE_DIR/archive). */
export interface Archive {
  save(id: string, set: CertificateSet): Promise<void>;
  /** Lineages kept only in the archive (CERT_DIR pruned them), for `rollback --to`. */
  ids(): Promise<string[]>;
  read(id: string): Promise<CertificateSet>;
}

/** One run at a time: the release function, or LockedError. */
export interface Locker {
  acquire(command: string): Promise<() => Promise<void>>;
}

/** The renewal bookkeeping, read and written only under the lock. */
export interface StateStore {
  read(): Promise<RenewalState>;
  write(state: RenewalState): Promise<void>;
}

/** Makes Node-RED use the lineage now installed (restart hook, served-certificate check); throws HookError. */
export interface Activator {
  activate(lineage: { id: string; info: CertificateInfo }): Promise<void>;
}

/** What the CA's renewal information (ARI) says about the installed certificate. */
export interface AriSource {
  lookup(installed: Installed): Promise<RenewalInfo | undefined>;
}

/** Where a run reports to: notifications and the status files. */
export interface Reporter {
  notify(event: NotifyEvent): Promise<void>;
  writeStatus(status: ServiceStatus): Promise<void>;
}

/**
 * What `nrcert status --json` prints, built in one place: the command prints it, and the editor
 * folder (src/editor/publish.ts) publishes exactly the same object for Node-RED's sidebar. Reads
 * files only: no ACME library, no Cloudflare SDK, no token.
 */
import type { Config } from '../config/config';
import { readInstalledCertificate, reportedNames, certificateInfo } from '../store/pem';
import { decideRenewal, dueAt } from '../renewal/policy';
import { savedRenewalInfo } from '../renewal/ari-state';
import { fileStateStore } from '../renewal/state';
import { emptyRecord, lineageStates, type LineageState } from '../renewal/lineages';
import { FileCertStore } from '../store/cert-dir';
import { listArchived, readArchived } from '../store/archive';
import { isoTime } from '../util/iso-time';

const DAY_MS = 86_400_000;

/** The installed certificate as `status --json` lists it. */
export interface CertificateReport {
  names: string[];
  issuer: string;
  serial: string;
  fingerprint256: string;
  notBefore: string;
  notAfter: string;
  daysLeft: number;
  dueAt: string;
  due: boolean;
  ari?: { windowStart: string; windowEnd: string; chosenAt?: string };
  files: Record<string, string>;
}

/** One lineage as `status --json` lists it. */
export interface LineageEntry {
  id: string;
  state: LineageState;
  notAfter?: string;
  fingerprint256?: string;
}

/** `nrcert status --json`. */
export interface StatusReport {
  certDir: string;
  certificates: CertificateReport[];
  lineages: LineageEntry[];
}

/** Builds the report from CERT_DIR, STATE_DIR's renewal state and the saved ARI window. */
export async function statusReport(config: Config, now: Date = new Date()): Promise<StatusReport> {
  const installed = await readInstalledCertificate(config.certDir);
  const ari = installed ? await savedRenewalInfo(config, installed.pem) : undefined;
  const certificates: CertificateReport[] = installed
    ? [
        {
          names: reportedNames(installed.pem),
          issuer: installed.info.issuer,
          serial: installed.info.serial,
          fingerprint256: installed.info.fingerprint256,
          notBefore: isoTime(installed.info.notBefore),
          notAfter: isoTime(installed.info.notAfter),
          daysLeft: Math.floor((installed.info.notAfter.getTime() - now.getTime()) / DAY_MS),
          dueAt: isoTime(dueAt(installed.info, ari)),
          due: decideRenewal({ installed: installed.info, names: config.domains, now, ari }).due,
          ari: ari ? { windowStart: isoTime(ari.window.start), windowEnd: isoTime(ari.window.end), chosenAt: ari.chosenAt ? isoTime(ari.chosenAt) : undefined } : undefined,
          files: installed.files,
        },
      ]
    : [];
  return { certDir: config.certDir, certificates, lineages: await lineageList(config) };
}

/**
 * Every lineage nrcert knows, in CERT_DIR and in STATE_DIR/archive, with what the renewal state
 * says of it. STATE_DIR may be private to the service's user: then the states come from CERT_DIR alone.
 */
async function lineageList(config: Config): Promise<LineageEntry[]> {
  const store = new FileCertStore(config.certDir);
  const inCertDir = await store.lineages().catch(() => [] as string[]);
  const archived = await listArchived(config.stateDir);
  const record = (await fileStateStore(config.stateDir).read().catch(() => null))?.lineages ?? emptyRecord();
  const currentId = (await store.current().catch(() => null))?.id ?? null;
  const ids = [...new Set([...inCertDir, ...archived])].sort();
  // Rollbacks pick among CERT_DIR's lineages; ones only the archive holds are for `rollback --to`.
  const states = lineageStates(record, inCertDir, currentId);
  for (const id of archived) if (!states.has(id)) states.set(id, record.failed.includes(id) ? 'failed' : 'archived');
  const entries: LineageEntry[] = [];
  for (const id of ids) {
    const set = await (inCertDir.includes(id) ? store.read(id) : readArchived(config.stateDir, id)).catch(() => null);
    const info = set ? (() => { try { return certificateInfo(set.cert); } catch { return null; } })() : null;
    entries.push({ id, state: states.get(id)!, notAfter: info ? isoTime(info.notAfter) : undefined, fingerprint256: info?.fingerprint256 });
  }
  return entries;
}

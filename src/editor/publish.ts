/**
 * Publishing for the Node-RED editor: each function writes one file of EDITOR_DIR (folder.ts)
 * from what nrcert already computes for its own commands, so the sidebar shows exactly what
 * `status --json`, `doctor --json` and `clients list --json` print. Every object carries
 * `version: 1`. None holds a secret: they are built from reports that never carry one (the token,
 * keys, passwords and NOTIFY_URL are not in them), and a test publishes with sentinels to prove it.
 */
import type { Config } from '../config/config';
import type { CheckResult } from '../doctor/types';
import { allPassed } from '../doctor/report';
import { statusReport } from '../service/status-report';
import type { ServiceStatus } from '../service/status-file';
import { readState } from '../store/state';
import { statePath } from '../store/state-dir';
import { ClientCaStore } from '../clients/store';
import { EDITOR_FILES, EDITOR_FORMAT_VERSION, ensureEditorFolder, writeEditorFile, type EditorFolder } from './folder';
import { isoTime } from '../util/iso-time';

/** status.json: `status` is `nrcert status --json`; `service` what STATE_DIR/status.json holds (last run, back-off). */
export async function publishStatus(folder: EditorFolder, config: Config, now: Date = new Date()): Promise<void> {
  const status = await statusReport(config, now);
  const service = await readState<ServiceStatus | null>(statePath(config.stateDir, 'status'), null).catch(() => null);
  ensureEditorFolder(folder);
  writeEditorFile(folder, EDITOR_FILES.status, { version: EDITOR_FORMAT_VERSION, publishedAt: isoTime(now), status, service });
}

/** doctor.json: every check as `doctor --json` gives it, and the security audit's lines apart. */
export function publishDoctor(folder: EditorFolder, checks: CheckResult[], now: Date = new Date()): void {
  ensureEditorFolder(folder);
  writeEditorFile(folder, EDITOR_FILES.doctor, {
    version: EDITOR_FORMAT_VERSION,
    publishedAt: isoTime(now),
    ok: allPassed(checks),
    checks,
    audit: checks.filter((c) => c.id.startsWith('security.')),
  });
}

/** One client certificate as `nrcert clients list --json` lists it. */
export interface ClientRow {
  name: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  revoked: boolean;
  revokedAt: string | null;
}

/** The client certificates of STATE_DIR's CA, as `clients list --json` lists them. */
export function clientRows(store: ClientCaStore): ClientRow[] {
  return store.registry().clients.map((c) => ({ name: c.name, serial: c.serial, notBefore: c.notBefore, notAfter: c.notAfter, revoked: c.revokedAt !== null, revokedAt: c.revokedAt }));
}

/** clients.json, when the client CA exists (returns false, writing nothing, when it does not). */
export function publishClients(folder: EditorFolder, stateDir: string, now: Date = new Date()): boolean {
  const store = new ClientCaStore(stateDir);
  if (!store.exists()) return false;
  const clients = clientRows(store);
  ensureEditorFolder(folder);
  writeEditorFile(folder, EDITOR_FILES.clients, { version: EDITOR_FORMAT_VERSION, publishedAt: isoTime(now), clients });
  return true;
}

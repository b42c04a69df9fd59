/**
 * Every file and folder nrcert keeps in STATE_DIR, named in one place. Modules ask this one for a
 * path instead of joining names of their own, so a reader finds the whole layout here:
 *
 *   STATE_DIR/lock                 the renewal lock (renew, rollback)
 *   STATE_DIR/service.lock         held by the one `nrcert run` of this STATE_DIR
 *   STATE_DIR/renewal-state.json   failures, back-off, last run, notices, live/failed/pending lineages
 *   STATE_DIR/ari.json             the CA's renewal window (ARI) for the installed certificate
 *   STATE_DIR/service.json         the service's schedule slot, chosen once per install
 *   STATE_DIR/status.json          what the service last saw (no secrets; world-readable)
 *   STATE_DIR/editor.json          when the editor last asked for a renewal (EDITOR_RENEW_INTERVAL)
 *   STATE_DIR/editor.lock          held while the editor's spool is processed (service or `nrcert editor process`)
 *   STATE_DIR/txt-records.json     TXT records being published, so a crash can clean them up
 *   STATE_DIR/accounts/            ACME account keys, one folder per directory URL
 *   STATE_DIR/archive/<id>/        private copies of recent lineages
 *   STATE_DIR/clients/             the client-certificate CA (nrcert clients): CLIENT_FILES
 */
import { join } from 'node:path';

/** The names inside STATE_DIR. */
export const STATE_FILES = {
  lock: 'lock',
  serviceLock: 'service.lock',
  renewalState: 'renewal-state.json',
  ari: 'ari.json',
  service: 'service.json',
  status: 'status.json',
  txtRecords: 'txt-records.json',
  editor: 'editor.json',
  editorLock: 'editor.lock',
  accounts: 'accounts',
  archive: 'archive',
  clients: 'clients',
} as const;

/**
 * The names inside STATE_DIR/clients: the CA key (0600), the CA certificate and the CRL (0644:
 * Node-RED's settings.js reads them), the list of issued certificates, and when the last
 * client_expiring notification went out.
 */
export const CLIENT_FILES = {
  caKey: 'ca.key',
  caCert: 'ca.pem',
  crl: 'crl.pem',
  registry: 'clients.json',
  notified: 'notified.json',
} as const;

/** The absolute path of one file of the client CA. */
export function clientPath(stateDir: string, name: keyof typeof CLIENT_FILES): string {
  return join(stateDir, STATE_FILES.clients, CLIENT_FILES[name]);
}

/** One of the names above. */
export type StateFile = keyof typeof STATE_FILES;

/** The absolute path of `name` in `stateDir`. */
export function statePath(stateDir: string, name: StateFile): string {
  return join(stateDir, STATE_FILES[name]);
}

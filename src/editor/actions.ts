/**
 * The real actions behind the editor's requests (processor.ts): a renewal as the service's
 * renewal child (`renew --force --doctor`: the token stays in nrcert), and client certificates
 * issued and revoked in this process, as `nrcert clients add|revoke` do. The X.509 libraries are
 * loaded on the first client request only; ACME and Cloudflare never in this process.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/config';
import { describeError, ExitCode } from '../errors';
import { ClientCaStore, revokedEntries, type ClientRecord } from '../clients/store';
import type { RunningRenewal } from '../service/scheduler';
import type { ServiceStatus } from '../service/status-file';
import { readState } from '../store/state';
import { statePath } from '../store/state-dir';
import { writeFileAtomicSync } from '../store/atomic';
import { EDITOR_FILE_MODE, inEditorFolder, requestsDir, type EditorFolder } from './folder';
import { publishClients } from './publish';
import type { ActionResult, SpoolActions } from './processor';

/** The arguments of the editor's renewal child. */
export const EDITOR_RENEW_ARGS = ['--force', '--doctor'];

/** How the actions start a renewal child, or why it was not started (one running already, a fleet member). */
export type StartRenewal = () => RunningRenewal | { notStarted: string };

/** The actions for one configuration and editor folder. */
export function realActions(config: Config, folder: EditorFolder, start: StartRenewal, renewalRunning: () => boolean): SpoolActions {
  return {
    renewalRunning,
    renew: () => renewOnce(config, start),
    clientAdd: (request, download) => addClient(config, folder, request.name, request.password.reveal(), download),
    clientRevoke: (serial) => revokeClient(config, folder, serial),
  };
}

/** One `renew --force` child; its outcome in words from what it recorded (STATE_DIR/status.json) and its exit code. */
async function renewOnce(config: Config, start: StartRenewal): Promise<ActionResult> {
  const startedAt = Date.now();
  const running = start();
  if ('notStarted' in running) return { ok: false, message: running.notStarted, notStarted: true };
  const { code, signal } = await running.done;
  const status = await readState<ServiceStatus | null>(statePath(config.stateDir, 'status'), null).catch(() => null);
  const fresh = status?.lastRun && Date.parse(status.lastRun.at) >= startedAt - 1000 ? status.lastRun : undefined;
  if (code === 0) {
    const until = status?.certificate?.notAfter;
    return { ok: true, message: until ? `The certificate was renewed; it is valid until ${until}.` : 'The renewal finished.' };
  }
  if (code === ExitCode.locked) return { ok: false, message: 'Another renewal held the lock (the schedule, the timer or a renewal by hand); nothing was changed. Ask again when it has finished.' };
  if (code === ExitCode.interrupted || signal) return { ok: false, message: 'The renewal was stopped (the service is stopping); nothing was changed.' };
  if (code === ExitCode.config) return { ok: false, message: 'The renewal could not start: nrcert\'s settings have a problem (run nrcert doctor on the server).' };
  return { ok: false, message: fresh ? `The renewal failed: ${fresh.message}` : `The renewal failed (exit code ${code}); the service log and the events here say why.` };
}

/** Issues `name` with `password`, leaves requests/`download` (0640, the folder's group) and republishes clients.json. */
async function addClient(config: Config, folder: EditorFolder, name: string, password: string, download: string): Promise<ActionResult> {
  const store = new ClientCaStore(config.stateDir);
  if (!store.exists()) return { ok: false, message: 'There is no client CA yet: run nrcert clients init on the server first.' };
  if (store.active(name)) return { ok: false, message: `A certificate named "${name}" is already issued; revoke it first or pick another name.` };
  const ca = require('../clients/ca') as typeof import('../clients/ca');
  const { buildP12 } = require('../clients/pkcs12') as typeof import('../clients/pkcs12');
  const { Secret } = require('../config/secret') as typeof import('../config/secret');
  const material = store.ca();
  const issued = await ca.issueClient(material, name, 825, new Date());
  const p12 = buildP12({ keyPem: issued.keyPem, certPem: issued.certPem, chainPems: [material.certPem], friendlyName: name, password: new Secret(password), flavour: 'legacy' });
  const record: ClientRecord = { name, serial: issued.serial, notBefore: issued.notBefore.toISOString(), notAfter: issued.notAfter.toISOString(), revokedAt: null, p12: 'legacy' };
  const path = join(requestsDir(folder), download);
  inEditorFolder(folder, () => writeFileAtomicSync(path, p12, EDITOR_FILE_MODE, { group: folder.group }));
  try {
    store.record(record);
  } catch (err) {
    inEditorFolder(folder, () => rmSync(path, { force: true }));
    return { ok: false, message: describeError(err) };
  }
  publishClients(folder, config.stateDir);
  return { ok: true, message: `Issued "${name}" (serial ${issued.serial}, valid until ${record.notAfter.slice(0, 10)}); download it once, then import it with the password you chose.` };
}

/** Revokes the certificate with `serial` (a new CRL, as `nrcert clients revoke`) and republishes clients.json. */
async function revokeClient(config: Config, folder: EditorFolder, serial: string): Promise<ActionResult> {
  const store = new ClientCaStore(config.stateDir);
  if (!store.exists()) return { ok: false, message: 'There is no client CA on the server.' };
  const ca = require('../clients/ca') as typeof import('../clients/ca');
  const record = store.registry().clients.find((c) => ca.normalSerial(c.serial) === ca.normalSerial(serial));
  if (!record) return { ok: false, message: `No client certificate has the serial ${serial}.` };
  if (record.revokedAt) return { ok: true, message: `"${record.name}" (serial ${record.serial}) was already revoked on ${record.revokedAt.slice(0, 10)}.` };
  await store.revoke(record.name, new Date(), (registry) => ca.signCrl(store.ca(), revokedEntries(registry), registry.crlNumber, new Date()));
  publishClients(folder, config.stateDir);
  return { ok: true, message: `Revoked "${record.name}" (serial ${record.serial}); Node-RED refuses it from its next https refresh on.` };
}

/**
 * Checks of client certificates (nrcert clients): the CA is present and valid, no client
 * certificate expires within 30 days, the CRL is fresh, settings.js gives ca/crl/requestCert as
 * the CA's existence suggests, and `require` mode's effect on Node-RED's Docker healthcheck.
 * Without a CA and without client certificates in settings.js there is nothing to check and
 * no line at all, so the checklist of a set-up without client certificates stays as it was. The X.509 library is loaded only when there is a CRL to read.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Config } from '../../config/config';
import { crlVerdict, expiringClients } from '../../clients/policy';
import { ClientCaStore } from '../../clients/store';
import type { SettingsProbe } from '../../nodered/settings-probe';
import { clientPath } from '../../store/state-dir';
import { fail, ok, skip, warn, type CheckResult } from '../types';

const ID = 'clients';

/** Every client-certificate line of the checklist. */
export async function checkClients(config: Config | undefined, probe: SettingsProbe, now: Date): Promise<CheckResult[]> {
  if (!config) return [];
  const store = new ClientCaStore(config.stateDir);
  const asked = probe.clientCerts ?? null;
  if (!store.exists()) {
    if (!asked) return [];
    return [fail(`${ID}.ca`, `settings.js asks for client certificates, but there is no client CA in ${store.dir}`, 'nrcert clients init, nrcert clients add NAME, then nrcert settings --apply --client-certs require')];
  }
  const ca = caResult(config.stateDir, now);
  const registry = store.registry();
  return [ca, expiryResult(registry.clients, now), await crlResult(store, registry.clients, now), settingsResult(probe, config.stateDir), ...dockerResult(asked)];
}

/** The CA certificate parses, is a CA, matches its key and is not about to expire. */
function caResult(stateDir: string, now: Date): CheckResult {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(readFileSync(clientPath(stateDir, 'caCert')));
  } catch {
    return fail(`${ID}.ca`, `${clientPath(stateDir, 'caCert')} is not a readable certificate`, 'restore it from a backup of STATE_DIR');
  }
  try {
    if (!cert.checkPrivateKey(createPrivateKey(readFileSync(clientPath(stateDir, 'caKey'))))) {
      return fail(`${ID}.ca`, 'the client CA key does not match its certificate', 'restore STATE_DIR/clients from a backup');
    }
  } catch {
    return fail(`${ID}.ca`, `cannot read the client CA key ${clientPath(stateDir, 'caKey')}`, 'run nrcert doctor as the user nrcert runs as');
  }
  if (!cert.ca) return fail(`${ID}.ca`, 'the client CA certificate is not a CA certificate', 'restore STATE_DIR/clients from a backup');
  const daysLeft = Math.floor((Date.parse(cert.validTo) - now.getTime()) / 86_400_000);
  if (daysLeft <= 0) return fail(`${ID}.ca`, `the client CA expired on ${cert.validTo}: every client certificate is refused`, 'move STATE_DIR/clients away, then nrcert clients init and add every device again');
  if (daysLeft < 90) return warn(`${ID}.ca`, `the client CA expires in ${daysLeft} days (${cert.validTo})`, 'plan a new CA: move STATE_DIR/clients away, nrcert clients init, add every device again');
  return ok(`${ID}.ca`, `client CA ${cert.subject.replace(/\n/g, ', ')} valid until ${cert.validTo}`);
}

function expiryResult(clients: Parameters<typeof expiringClients>[0], now: Date): CheckResult {
  const soon = expiringClients(clients, now);
  const active = clients.filter((c) => c.revokedAt === null).length;
  if (soon.length === 0) return ok(`${ID}.expiry`, `${active} client certificate(s) in use, none expiring within 30 days`);
  return warn(`${ID}.expiry`, soon.map((s) => s.reason).join('; '), `issue new ones: nrcert clients revoke NAME, then nrcert clients add NAME`);
}

async function crlResult(store: ClientCaStore, clients: Parameters<typeof crlVerdict>[1], now: Date): Promise<CheckResult> {
  const crlPem = store.crl();
  const caPem = store.caCert();
  let facts = null;
  if (crlPem && caPem) {
    const { readCrl } = require('../../clients/ca') as typeof import('../../clients/ca');
    facts = await readCrl(crlPem, caPem).catch(() => null);
  }
  const verdict = crlVerdict(facts, clients, now);
  return verdict.fresh ? ok(`${ID}.crl`, verdict.reason) : fail(`${ID}.crl`, verdict.reason, 'sign it again: nrcert clients revoke NAME (any revoked or to-be-revoked name)');
}

/** settings.js gives ca + crl + requestCert from this CA (its files among those https() read). */
function settingsResult(probe: SettingsProbe, stateDir: string): CheckResult {
  const cc = probe.clientCerts ?? null;
  if (!probe.found) return skip(`${ID}.settings`, `no settings.js at ${probe.path}`);
  if (!cc) {
    return warn(`${ID}.settings`, 'a client CA exists, but settings.js does not ask for client certificates', 'nrcert settings --apply --client-certs require (or editor), then restart Node-RED once');
  }
  const files = [clientPath(stateDir, 'caCert'), clientPath(stateDir, 'crl')];
  if (!cc.ca || !cc.crl || !files.every((f) => probe.pemFiles.some((p) => p === f || p.endsWith(f)))) {
    return fail(`${ID}.settings`, 'settings.js asks for client certificates but does not give this CA\'s ca.pem and crl.pem', 'nrcert settings --apply --client-certs require (or editor)');
  }
  return ok(`${ID}.settings`, `settings.js gives ca, crl and requestCert (${cc.rejectUnauthorized ? 'require' : 'editor'} mode)`);
}

function dockerResult(asked: SettingsProbe['clientCerts']): CheckResult[] {
  if (!asked?.rejectUnauthorized) return [];
  return [warn(`${ID}.docker`, 'require mode: Node-RED\'s Docker healthcheck probes https://127.0.0.1 without a client certificate, so a container reports unhealthy',
    'in Docker, override the image\'s HEALTHCHECK (e.g. healthcheck: disable: true in compose), or use --client-certs editor')];
}

/**
 * The fleet's certificate in etcd, under /nrcert/fleet/NAME/:
 *
 *   set/cert  set/chain  set/key (AES-256-GCM, sealed with FLEET_KEY)  set/lineage  set/version
 *   election  (etcd Election: the issuer)     lock  (etcd Lock: one renewal at a time)
 *   hosts/HOST  (each host's report, on its lease: gone with the host)    seen/HOST  (the last report, kept)
 *
 * The set is written in one transaction, only while the writer holds the renewal lock (the txn
 * compares the lock key), and read with one range, so a reader never sees half of a set.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Secret } from '../config/secret';
import type { CertificateSet } from '../store/types';
import type { FleetConfig } from './config';
import type { EtcdClient, KeyValue } from './etcd';
import { FleetKeyError, FleetLockLostError } from './errors';

/** The facts stored beside the set: what it is and who wrote it. */
export interface SetVersion {
  version: number;
  lineage: string;
  fingerprint256: string;
  notAfter: string;
  issuedBy: string;
  at: string;
}

/** The fleet's set as read: the certificate in clear, the key still sealed. */
export interface StoredSet {
  cert: string;
  chain: string;
  sealedKey: string;
  meta: SetVersion;
  /** The etcd revision it was read at. */
  revision: number;
}

/** Where one fleet's keys live. */
export function fleetKeys(name: string) {
  const root = `/nrcert/fleet/${name}/`;
  return { root, set: `${root}set/`, election: `${root}election`, lock: `${root}lock`, hosts: `${root}hosts/`, seen: `${root}seen/` };
}

/** Seals the private key with AES-256-GCM under the fleet key; the fleet name and lineage are bound in as AAD. */
export function sealKey(key: Secret, privkey: string, aad: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(key.reveal(), 'base64'), iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const data = Buffer.concat([cipher.update(privkey, 'utf8'), cipher.final()]);
  return JSON.stringify({ alg: 'A256GCM', iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') });
}

/** Opens a sealed key, or throws FleetKeyError (wrong FLEET_KEY_FILE, or data changed in etcd). */
export function openKey(key: Secret, sealed: string, aad: string): string {
  try {
    const { iv, tag, data } = JSON.parse(sealed) as { iv: string; tag: string; data: string };
    const decipher = createDecipheriv('aes-256-gcm', Buffer.from(key.reveal(), 'base64'), Buffer.from(iv, 'base64'));
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(data, 'base64')), decipher.final()]).toString('utf8');
  } catch (err) {
    throw new FleetKeyError(
      'the fleet\'s private key does not open with FLEET_KEY_FILE (a different key from the issuer\'s, or the data in etcd was changed); ' +
        'nothing was installed and the installed certificate stays: copy the fleet\'s key file to this host', { cause: err });
  }
}

/** The fleet's set, or null when none has been published yet. */
export async function readStoredSet(etcd: EtcdClient, name: string): Promise<StoredSet | null> {
  const keys = fleetKeys(name);
  const { kvs, revision } = await etcd.range(keys.set, { prefix: true });
  const get = (k: string) => kvs.find((kv: KeyValue) => kv.key === keys.set + k)?.value;
  const version = get('version');
  if (!version) return null;
  return { cert: get('cert') ?? '', chain: get('chain') ?? '', sealedKey: get('key') ?? '', meta: JSON.parse(version) as SetVersion, revision };
}

/** The set with its key opened: a CertificateSet as the store installs it. */
export function openSet(stored: StoredSet, key: Secret, name: string): CertificateSet {
  const privkey = openKey(key, stored.sealedKey, `${name}/${stored.meta.version}`);
  return { privkey, cert: stored.cert, chain: stored.chain, fullchain: stored.cert + stored.chain };
}

/**
 * Publishes a validated set as the next version, in one txn that holds only while `lockKey`
 * (this run's etcd lock) still exists: a run whose lease ended publishes nothing.
 */
export async function publishSet(etcd: EtcdClient, o: { name: string; key: Secret; lockKey: string; set: CertificateSet; meta: Omit<SetVersion, 'version'> }): Promise<SetVersion> {
  const keys = fleetKeys(o.name);
  const previous = await readStoredSet(etcd, o.name);
  const meta: SetVersion = { ...o.meta, version: (previous?.meta.version ?? 0) + 1 };
  const put = (k: string, value: string) => ({ put: { key: keys.set + k, value } });
  const ok = await etcd.txn(
    [{ key: o.lockKey, target: 'CREATE', result: 'GREATER', createRevision: 0 }],
    [
      put('cert', o.set.cert), put('chain', o.set.chain), put('key', sealKey(o.key, o.set.privkey, `${o.name}/${meta.version}`)),
      put('lineage', meta.lineage), put('version', JSON.stringify(meta)),
    ],
  );
  if (!ok) throw new FleetLockLostError('this run lost the fleet\'s renewal lock (its etcd lease ended) before publishing; nothing was published, the next issuer renews');
  return meta;
}

/** One host's report as stored (hosts/HOST while alive, seen/HOST kept). */
export interface HostReport {
  host: string;
  role: string;
  issuer: boolean;
  fingerprint256?: string;
  version?: number;
  outcome: string;
  message: string;
  at: string;
}

/** Writes this host's report in one txn: hosts/HOST on `lease`, seen/HOST without. */
export async function writeReport(etcd: EtcdClient, fleet: FleetConfig, lease: string, fields: Omit<HostReport, 'host' | 'at'>): Promise<void> {
  const keys = fleetKeys(fleet.name);
  const value = JSON.stringify({ host: fleet.host, ...fields, at: new Date().toISOString() } satisfies HostReport);
  await etcd.txn([], [{ put: { key: keys.hosts + fleet.host, value, lease } }, { put: { key: keys.seen + fleet.host, value } }]);
}

/** Every host's last report, with whether it is alive (its lease still holds). */
export async function readReports(etcd: EtcdClient, fleet: Pick<FleetConfig, 'name'>): Promise<Array<HostReport & { alive: boolean }>> {
  const keys = fleetKeys(fleet.name);
  const alive = new Set((await etcd.range(keys.hosts, { prefix: true })).kvs.map((kv) => kv.key.slice(keys.hosts.length)));
  const seen = (await etcd.range(keys.seen, { prefix: true })).kvs.map((kv) => JSON.parse(kv.value) as HostReport);
  return seen.map((r) => ({ ...r, alive: alive.has(r.host) })).sort((a, b) => a.host.localeCompare(b.host));
}

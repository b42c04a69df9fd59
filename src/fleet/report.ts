/** Each host's report: what it has installed and how its last sync went, on its lease and as last seen. */
import type { FleetConfig } from './config';
import type { EtcdClient } from './etcd';
import { fleetKeys } from './set';

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

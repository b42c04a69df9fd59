/**
 * Fleet tests: a Pebble + Cloudflare-fake stack and a three-member etcd cluster (./etcd.ts) per
 * test file, nrcert hosts as real `nrcert run` processes (one CERT_DIR and STATE_DIR each), and
 * what the tests look at: `fleet status --json`, the files each host serves, the fake's records.
 */
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, startCli, startStack, stopCli, type CliResult, type Stack } from './cli';
import { startEtcdCluster, type EtcdCluster } from './etcd';
import { waitFor } from './wait';

/** One nrcert host: its settings and its running `nrcert run`. */
export type Host = { name: string; env: Record<string, string>; cli: ReturnType<typeof startCli> };

/** What `nrcert fleet status --json` prints. */
export interface FleetStatus {
  issuer: string | null;
  certificate: { fingerprint256: string; version: number; at: string; issuedBy: string } | null;
  hosts: Array<{ host: string; state: string; fingerprint256?: string; issuer: boolean; outcome: string; alive: boolean; at: string }>;
}

/** The servers of one test file and the helpers over them. */
export interface FleetWorld {
  stack: Stack;
  etcd: EtcdCluster;
  /** Starts host `name` of fleet `fleet` as `nrcert run` (checks every 2 s, 3 s leases). */
  startHost(fleet: string, keyFile: string, name: string, extra?: Record<string, string | undefined>): Host;
  fleetStatus(host: Host): Promise<FleetStatus>;
  /** Waits until every host in `names` is alive and current in the fleet's status (and `extra` holds). */
  allCurrent(via: Host, names: string[], timeoutMs: number, extra?: (s: FleetStatus) => boolean): Promise<void>;
  /** `nrcert renew --force` on `host` (beside its service: tried again while a scheduled check holds STATE_DIR's lock). */
  renewForce(host: Host): Promise<CliResult>;
  /** POSTs of new DNS records the fake received so far (optionally only those named `name`). */
  recordCreates(name?: string): number;
  /** The challenge TXT records the fake holds now. */
  challengeRecords(): ReturnType<Stack['fake']['records']>;
  stop(): Promise<void>;
}

/** Starts the stack and the etcd cluster for one test file. */
export async function startFleetWorld(etcdOptions: Parameters<typeof startEtcdCluster>[1] = {}): Promise<FleetWorld> {
  const [stack, etcd] = await Promise.all([startStack(), startEtcdCluster(3, etcdOptions)]);
  const world: FleetWorld = {
    stack, etcd,
    startHost(fleet, keyFile, name, extra = {}) {
      const env = stack.env({
        CERT_DIR: join(stack.dir, fleet, name, 'certs'), STATE_DIR: join(stack.dir, fleet, name, 'state'),
        RENEW_SCHEDULE: '*/2 * * * * *', RENEW_START_DELAY: '0', FLEET_LEASE_TTL: '3',
        ...etcd.fleetEnv(fleet, keyFile), FLEET_HOST: name, ...extra,
      });
      return { name, env, cli: startCli(['run'], env, stack.dir) };
    },
    async fleetStatus(host) {
      const res = await runCli(['fleet', 'status', '--json'], host.env, stack.dir);
      if (res.code !== 0) throw new Error(`fleet status exited ${res.code}: ${res.stderr}`);
      return JSON.parse(res.stdout) as FleetStatus;
    },
    async allCurrent(via, names, timeoutMs, extra = () => true) {
      await waitFor(async () => {
        const status = await world.fleetStatus(via);
        return status.certificate !== null && extra(status) && names.every((n) => status.hosts.some((h) => h.host === n && h.alive && h.state === 'current'));
      }, timeoutMs, { what: `${names.join(', ')} current`, intervalMs: 300 });
    },
    async renewForce(host) {
      for (let attempt = 0; ; attempt++) {
        const res = await runCli(['renew', '--force'], host.env, stack.dir);
        if (res.code !== 4 || attempt >= 20) return res;
      }
    },
    recordCreates: (name) => stack.fake.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/dns_records') &&
      (name === undefined || (r.body as { name?: string } | undefined)?.name === name)).length,
    challengeRecords: () => stack.fake.records().filter((r) => r.name.startsWith('_acme-challenge.')),
    stop: async () => { await Promise.all([stack.stop(), etcd.stop()]); },
  };
  return world;
}

/** The SHA-256 fingerprint of the certificate a host serves from its CERT_DIR, after checking its key matches. */
export function installedFingerprint(host: Pick<Host, 'name' | 'env'>): string {
  const dir = host.env.CERT_DIR;
  const cert = new X509Certificate(readFileSync(join(dir, 'cert.pem')));
  const key = createPublicKey(createPrivateKey(readFileSync(join(dir, 'privkey.pem')))).export({ type: 'spki', format: 'der' });
  if (!key.equals(cert.publicKey.export({ type: 'spki', format: 'der' }))) throw new Error(`${host.name}: privkey.pem does not match cert.pem`);
  return cert.fingerprint256;
}

/** Stops every host (SIGTERM, bounded) and gives their output. */
export function stopAll(hosts: Host[]): Promise<CliResult[]> {
  return Promise.all(hosts.map((h) => stopCli(h.cli)));
}

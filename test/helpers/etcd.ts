/**
 * A real etcd 3.4 cluster (Debian's etcd-server) for the fleet tests: three members on loopback
 * ports chosen at run time, data in a temp dir, clients over TLS with client certificates (a
 * throw-away CA made with openssl), peers over plain HTTP on 127.0.0.1. Members can be stopped
 * and started again with their data; stop() ends them all and removes the directory.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:https';
import { freePorts } from './ports';
import { startServerProcess, type ServerProcess } from './process';
import { makeTempDir, removeTempDir } from './tmp';
import { waitFor } from './wait';

/** One member: started, stopped and started again on the same ports and data. */
export interface EtcdMember {
  name: string;
  clientUrl: string;
  running(): boolean;
  start(): void;
  stop(): Promise<void>;
  output(): string;
}

/** The cluster and what a host needs to reach it. */
export interface EtcdCluster {
  dir: string;
  members: EtcdMember[];
  endpoints: string[];
  tls: { ca: string; cert: string; key: string };
  /** The FLEET_* settings of a host of fleet `name` with the fleet key in `keyFile`. */
  fleetEnv(name: string, keyFile: string): Record<string, string>;
  /** A new 32-byte fleet key file. */
  newKeyFile(label: string): string;
  /** Runs etcdctl against the cluster with the client certificate (and `user`, `root:PW`, when given). */
  ctl(args: string[], user?: string): string;
  /** Every key and value under `prefix`, read with etcdctl (what anyone with etcd access sees). */
  dump(prefix: string): Record<string, string>;
  /** Waits until the cluster answers a write (a quorum is up). */
  waitHealthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

function makeTls(dir: string): EtcdCluster['tls'] & { serverCert: string; serverKey: string } {
  const f = (n: string) => join(dir, n);
  const ossl = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  ossl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=test etcd CA', '-keyout', f('ca.key'), '-out', f('ca.pem')]);
  for (const [name, ext] of [['server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth'], ['client', 'extendedKeyUsage=clientAuth']]) {
    writeFileSync(f(`${name}.ext`), `${ext}\n`);
    ossl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${name}`, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`)]);
    ossl(['x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', f(`${name}.ext`), '-out', f(`${name}.pem`)]);
  }
  return { ca: f('ca.pem'), cert: f('client.pem'), key: f('client.key'), serverCert: f('server.pem'), serverKey: f('server.key') };
}

/**
 * Starts a `size`-member cluster (3 unless told) and waits until it takes writes. `clientCerts:
 * false`: clients show no certificate (TLS with the CA only), as etcd's own users need: etcd 3.4's
 * gateway refuses a request carrying a client certificate once authentication is on.
 */
export async function startEtcdCluster(size = 3, opts: { clientCerts?: boolean } = {}): Promise<EtcdCluster> {
  const clientCerts = opts.clientCerts ?? true;
  const dir = await makeTempDir('etcd');
  const tls = makeTls(dir);
  const ports = await freePorts(size * 2);
  const names = Array.from({ length: size }, (_, i) => `m${i}`);
  const peer = (i: number) => `http://127.0.0.1:${ports[size + i]}`;
  const initialCluster = names.map((n, i) => `${n}=${peer(i)}`).join(',');
  const members: EtcdMember[] = names.map((name, i) => {
    const clientUrl = `https://127.0.0.1:${ports[i]}`;
    let proc: ServerProcess | undefined;
    let started = false;
    return {
      name, clientUrl,
      running: () => proc !== undefined && proc.exitStatus() === undefined,
      start() {
        proc = startServerProcess(`etcd ${name}`, 'etcd', [
          '--name', name, '--data-dir', join(dir, name),
          '--listen-client-urls', clientUrl, '--advertise-client-urls', clientUrl,
          '--listen-peer-urls', peer(i), '--initial-advertise-peer-urls', peer(i),
          '--initial-cluster', initialCluster, '--initial-cluster-token', `nrcert-test-${ports[0]}`,
          '--initial-cluster-state', started ? 'existing' : 'new',
          '--cert-file', tls.serverCert, '--key-file', tls.serverKey, ...(clientCerts ? ['--trusted-ca-file', tls.ca, '--client-cert-auth'] : []),
          '--heartbeat-interval', '50', '--election-timeout', '500', '--logger', 'zap', '--log-level', 'warn',
        ], { PATH: process.env.PATH }, dir);
        started = true;
      },
      stop: async () => { await proc?.stop(5000); },
      output: () => proc?.output() ?? '',
    };
  });
  const endpoints = members.map((m) => m.clientUrl);
  const cluster: EtcdCluster = {
    dir, members, endpoints, tls,
    fleetEnv: (name, keyFile) => ({
      FLEET_ETCD_ENDPOINTS: endpoints.join(','), FLEET_ETCD_CA_FILE: tls.ca, ...(clientCerts ? { FLEET_ETCD_CERT_FILE: tls.cert, FLEET_ETCD_KEY_FILE: tls.key } : {}),
      FLEET_NAME: name, FLEET_KEY_FILE: keyFile,
    }),
    newKeyFile(label) {
      const path = join(dir, `${label}.key`);
      writeFileSync(path, randomBytes(32), { mode: 0o600 });
      return path;
    },
    ctl: (args, user) => execFileSync('etcdctl', ['--endpoints', endpoints.join(','), '--cacert', tls.ca, ...(clientCerts ? ['--cert', tls.cert, '--key', tls.key] : []), ...(user ? ['--user', user] : []), ...args], { env: { PATH: process.env.PATH, ETCDCTL_API: '3' }, stdio: 'pipe' }).toString(),
    dump(prefix) {
      const out = cluster.ctl(['get', '--prefix', prefix, '-w', 'json']);
      const kvs = (JSON.parse(out) as { kvs?: Array<{ key: string; value: string }> }).kvs ?? [];
      return Object.fromEntries(kvs.map((kv) => [Buffer.from(kv.key, 'base64').toString(), Buffer.from(kv.value ?? '', 'base64').toString()]));
    },
    waitHealthy: (timeoutMs = 20_000) => waitFor(() => anyMemberWrites(endpoints, tls, clientCerts), timeoutMs, { what: 'etcd quorum', intervalMs: 100 }),
    async stop() {
      await Promise.all(members.map((m) => m.stop()));
      await removeTempDir(dir);
    },
  };
  try {
    for (const m of members) m.start();
    await cluster.waitHealthy();
  } catch (err) {
    const logs = members.map((m) => `--- ${m.name} ---\n${m.output()}`).join('\n');
    await cluster.stop();
    throw new Error(`startEtcdCluster: ${(err as Error).message}\n${logs}`);
  }
  return cluster;
}

/** True when some member commits a put (through the raft quorum) within 2 s. */
async function anyMemberWrites(endpoints: string[], tls: EtcdCluster['tls'], clientCerts: boolean): Promise<boolean> {
  const body = JSON.stringify({ key: Buffer.from('/nrcert-test/health').toString('base64'), value: Buffer.from('ok').toString('base64') });
  const opts = { ca: readFileSync(tls.ca), ...(clientCerts ? { cert: readFileSync(tls.cert), key: readFileSync(tls.key) } : {}) };
  for (const endpoint of endpoints) {
    const ok = await new Promise<boolean>((resolve) => {
      const req = request(new URL('/v3/kv/put', endpoint), { method: 'POST', ...opts, timeout: 2000 }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200));
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(false));
      req.end(body);
    });
    if (ok) return true;
  }
  return false;
}

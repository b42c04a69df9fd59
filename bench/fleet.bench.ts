/**
 * A fleet of 20 hosts (real `nrcert run` processes, one CERT_DIR and STATE_DIR each) on a real
 * three-member etcd cluster over TLS, against Pebble and the Cloudflare fake. Prints, for the
 * first issuance and for one forced renewal: the time from the issuer's publication (the set's
 * `at`) to the last host's report of having it installed, and the etcd traffic of the renewal
 * (etcd's own gRPC byte counters, all members) beside the idle traffic of the same fleet over the
 * same time. Figures only: nothing here asserts anything about time.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { runCli, startCli, startStack, stopCli, type Stack } from '../test/helpers/cli';
import { startEtcdCluster, type EtcdCluster } from '../test/helpers/etcd';
import { waitFor } from '../test/helpers/wait';

const HOSTS = Number(process.env.BENCH_FLEET_HOSTS ?? 20);

let stack: Stack;
let etcd: EtcdCluster;
beforeAll(async () => {
  [stack, etcd] = await Promise.all([startStack(), startEtcdCluster()]);
});
afterAll(async () => {
  await Promise.all([stack?.stop(), etcd?.stop()]);
});

type Status = { issuer: string | null; certificate: { version: number; fingerprint256: string; at: string } | null; hosts: Array<{ host: string; fingerprint256?: string; at: string; alive: boolean }> };

/** The bytes etcd's members have received and sent over gRPC (the JSON gateway included) so far. */
async function etcdBytes(): Promise<number> {
  let total = 0;
  for (const endpoint of etcd.endpoints) {
    const text = await new Promise<string>((resolve, reject) => {
      const req = request(new URL('/metrics', endpoint), { ca: readFileSync(etcd.tls.ca), cert: readFileSync(etcd.tls.cert), key: readFileSync(etcd.tls.key) }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      req.end();
    });
    for (const m of text.matchAll(/^etcd_network_client_grpc_(?:received|sent)_bytes_total\s+(\S+)$/gm)) total += Number(m[1]);
  }
  return total;
}

test(`${HOSTS} hosts on one fleet: issuance to last install, etcd traffic per renewal`, async () => {
  const keyFile = etcd.newKeyFile('bench');
  const envOf = (n: number) => stack.env({
    CERT_DIR: join(stack.dir, `h${n}`, 'certs'), STATE_DIR: join(stack.dir, `h${n}`, 'state'), LOG_LEVEL: 'warn',
    RENEW_SCHEDULE: '*/5 * * * * *', RENEW_START_DELAY: '0', FLEET_LEASE_TTL: '10',
    ...etcd.fleetEnv('bench', keyFile), FLEET_HOST: `h${String(n).padStart(2, '0')}`,
    // Two hosts may issue; the others are members without the token, as deploy/README suggests.
    ...(n < 2 ? {} : { FLEET_ROLE: 'member', CLOUDFLARE_API_TOKEN: undefined }),
  });
  const status = async (): Promise<Status> => JSON.parse((await runCli(['fleet', 'status', '--json'], envOf(0), stack.dir)).stdout);
  const allHave = async (version: number) => {
    const s = await status();
    return s.certificate?.version === version && s.hosts.filter((h) => h.alive && h.fingerprint256 === s.certificate!.fingerprint256).length === HOSTS;
  };
  const spread = (s: Status) => Math.max(...s.hosts.map((h) => Date.parse(h.at))) - Date.parse(s.certificate!.at);
  const started = Date.now();
  const hosts = Array.from({ length: HOSTS }, (_, n) => startCli(['run'], envOf(n), stack.dir));
  try {
    await waitFor(() => allHave(1), 240_000, { what: `all ${HOSTS} hosts with version 1`, intervalMs: 500 });
    const first = await status();
    const firstSpread = spread(first);
    const startup = Date.now() - started;

    // Idle traffic over a quiet window, then one forced renewal on the issuer.
    const idle0 = await etcdBytes();
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 15_000));
    const idleRate = (await etcdBytes() - idle0) / ((Date.now() - t0) / 1000);
    const issuer = Number(first.issuer!.slice(1));
    const before = await etcdBytes();
    const r0 = Date.now();
    // The issuer's service checks every 5 s: a forced run that meets one of its checks holding
    // the lock is refused (exit 4), as it would be by hand; ask again, as a person would.
    let forced = await runCli(['renew', '--force'], envOf(issuer), stack.dir);
    for (let tries = 1; forced.code === 4 && tries < 10; tries += 1) {
      await new Promise((r) => setTimeout(r, 500));
      forced = await runCli(['renew', '--force'], envOf(issuer), stack.dir);
    }
    if (forced.code !== 0) throw new Error(`renew --force: ${forced.stderr}`);
    await waitFor(() => allHave(2), 120_000, { what: `all ${HOSTS} hosts with version 2`, intervalMs: 250 });
    const window = (Date.now() - r0) / 1000;
    const renewalBytes = await etcdBytes() - before;
    const second = await status();
    process.stdout.write([
      `fleet of ${HOSTS} hosts (3 etcd members, TLS, lease TTL 10 s), on ${process.platform} ${process.arch}:`,
      `  start to all ${HOSTS} hosts installed (first issuance): ${(startup / 1000).toFixed(1)} s`,
      `  first issuance: publication to last host's report: ${firstSpread} ms`,
      `  renewal (renew --force on ${first.issuer}): publication to last host's report: ${spread(second)} ms`,
      `  etcd traffic during the renewal (${window.toFixed(1)} s, all members, gRPC bytes in+out): ${(renewalBytes / 1024).toFixed(0)} KiB`,
      `  of which idle traffic of the fleet over the same time (${(idleRate / 1024).toFixed(1)} KiB/s): ${((idleRate * window) / 1024).toFixed(0)} KiB`,
      `  so the renewal itself: ~${((renewalBytes - idleRate * window) / 1024).toFixed(0)} KiB (~${((renewalBytes - idleRate * window) / 1024 / HOSTS).toFixed(1)} KiB per host)`,
      '',
    ].join('\n'));
  } finally {
    await Promise.all(hosts.map((h) => stopCli(h)));
  }
});

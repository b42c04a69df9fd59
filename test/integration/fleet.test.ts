/**
 * A fleet of nrcert hosts (real `nrcert run` processes, each with its own CERT_DIR and STATE_DIR)
 * on a real three-member etcd cluster over TLS, against Pebble and the Cloudflare fake.
 */
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, startCli, startStack, stopCli, type CliResult, type Stack } from '../helpers/cli';
import { startEtcdCluster, type EtcdCluster } from '../helpers/etcd';
import { waitFor } from '../helpers/wait';
import { killTree } from '../helpers/process';

jest.setTimeout(180_000);

let stack: Stack;
let etcd: EtcdCluster;

beforeAll(async () => {
  [stack, etcd] = await Promise.all([startStack(), startEtcdCluster()]);
});
afterAll(async () => {
  await Promise.all([stack?.stop(), etcd?.stop()]);
});

type Host = { name: string; env: Record<string, string>; cli: ReturnType<typeof startCli> };

/** Starts host `name` of fleet `fleet` as `nrcert run` (checks every 2 s, 3 s leases). */
function startHost(fleet: string, keyFile: string, name: string, extra: Record<string, string | undefined> = {}): Host {
  const env = stack.env({
    CERT_DIR: join(stack.dir, fleet, name, 'certs'), STATE_DIR: join(stack.dir, fleet, name, 'state'),
    RENEW_SCHEDULE: '*/2 * * * * *', RENEW_START_DELAY: '0', FLEET_LEASE_TTL: '3',
    ...etcd.fleetEnv(fleet, keyFile), FLEET_HOST: name, ...extra,
  });
  return { name, env, cli: startCli(['run'], env, stack.dir) };
}

/** The SHA-256 fingerprint of the certificate a host serves from its CERT_DIR, after checking its key matches. */
function installedFingerprint(host: Host): string {
  const dir = host.env.CERT_DIR;
  const cert = new X509Certificate(readFileSync(join(dir, 'cert.pem')));
  const key = createPublicKey(createPrivateKey(readFileSync(join(dir, 'privkey.pem')))).export({ type: 'spki', format: 'der' });
  if (!key.equals(cert.publicKey.export({ type: 'spki', format: 'der' }))) throw new Error(`${host.name}: privkey.pem does not match cert.pem`);
  return cert.fingerprint256;
}

/** How many ACME orders reached the DNS provider: each wildcard + apex order creates two challenge records. */
function challengeRecordsCreated(): number {
  return stack.fake.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/dns_records') &&
    (r.body as { name?: string } | undefined)?.name === '_acme-challenge.example.test').length;
}

/** Waits until every host in `names` is alive and current in the fleet's status. */
async function allCurrent(via: Host, names: string[], timeoutMs: number, extra: (s: Awaited<ReturnType<typeof fleetStatus>>) => boolean = () => true): Promise<void> {
  await waitFor(async () => {
    const status = await fleetStatus(via);
    return status.certificate !== null && extra(status) && names.every((n) => status.hosts.some((h) => h.host === n && h.alive && h.state === 'current'));
  }, timeoutMs, { what: `${names.join(', ')} current`, intervalMs: 300 });
}

/** `nrcert renew --force` on `host` (beside its service: tried again while a scheduled check holds STATE_DIR's lock). */
async function renewForce(host: Host): Promise<CliResult> {
  for (let attempt = 0; ; attempt++) {
    const res = await runCli(['renew', '--force'], host.env, stack.dir);
    if (res.code !== 4 || attempt >= 20) return res;
  }
}

const count = (text: string, what: string) => text.split(what).length - 1;

const recordCreates = () => stack.fake.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/dns_records')).length;

const challengeRecords = () => stack.fake.records().filter((r) => r.name.startsWith('_acme-challenge.'));

async function fleetStatus(host: Host): Promise<{ issuer: string | null; certificate: { fingerprint256: string; version: number } | null; hosts: Array<{ host: string; state: string; fingerprint256?: string; issuer: boolean; outcome: string; alive: boolean; at: string }> }> {
  const res = await runCli(['fleet', 'status', '--json'], host.env, stack.dir);
  if (res.code !== 0) throw new Error(`fleet status exited ${res.code}: ${res.stderr}`);
  return JSON.parse(res.stdout);
}

async function stopAll(hosts: Host[]): Promise<CliResult[]> {
  return Promise.all(hosts.map((h) => stopCli(h.cli)));
}

test('three hosts: one issuance for the fleet, all three install it, all three report it', async () => {
  const keyFile = etcd.newKeyFile('one');
  const before = challengeRecordsCreated();
  const hosts = ['h1', 'h2', 'h3'].map((n) => startHost('one', keyFile, n));
  try {
    await waitFor(async () => {
      const status = await fleetStatus(hosts[0]);
      return status.certificate !== null && status.hosts.filter((h) => h.state === 'current').length === 3;
    }, 90_000, { what: 'all three hosts current', intervalMs: 500 });
    const status = await fleetStatus(hosts[0]);
    const fingerprints = hosts.map(installedFingerprint);
    expect(new Set(fingerprints).size).toBe(1);
    expect(fingerprints[0]).toBe(status.certificate!.fingerprint256);
    expect(status.hosts.map((h) => h.host)).toEqual(['h1', 'h2', 'h3']);
    expect(status.hosts.every((h) => h.fingerprint256 === fingerprints[0])).toBe(true);
    expect(status.hosts.filter((h) => h.issuer).map((h) => h.host)).toEqual([status.issuer]);
    // A few more checks go by: nobody orders again.
    await new Promise((r) => setTimeout(r, 4000));
    expect(challengeRecordsCreated() - before).toBe(2);
  } finally {
    const results = await stopAll(hosts);
    for (const r of results) expect(r.stderr + r.stdout).not.toContain('sentinel-TOKEN');
  }
});

test('a host whose FLEET_KEY is wrong refuses to install the fleet\'s certificate and keeps its own', async () => {
  const keyFile = etcd.newKeyFile('wk');
  const wrongKey = etcd.newKeyFile('wk-wrong');
  // The bad host has a certificate of its own already (from a renewal before it joined).
  const bad = { name: 'bad', env: stack.env({ CERT_DIR: join(stack.dir, 'wk', 'bad', 'certs'), STATE_DIR: join(stack.dir, 'wk', 'bad', 'state') }) };
  const own = await runCli(['renew'], bad.env, stack.dir);
  expect(own).toMatchObject({ code: 0 });
  const good = startHost('wk', keyFile, 'good');
  const before = installedFingerprint(bad as Host);
  const member = startHost('wk', wrongKey, 'bad', { FLEET_ROLE: 'member', CLOUDFLARE_API_TOKEN: undefined });
  try {
    await waitFor(async () => {
      const { hosts } = await fleetStatus(good);
      return hosts.some((h) => h.host === 'bad' && h.outcome === 'key_error') && hosts.some((h) => h.host === 'good' && h.state === 'current');
    }, 60_000, { what: 'the good host current, the bad one reporting key_error', intervalMs: 500 });
    const status = await fleetStatus(good);
    expect(status.certificate).not.toBeNull();
    expect(status.certificate!.fingerprint256).not.toBe(before);
    expect(installedFingerprint(member)).toBe(before);
    expect(status.hosts.find((h) => h.host === 'bad')!.state).toBe('behind');
    expect(status.hosts.find((h) => h.host === 'good')!.state).toBe('current');
  } finally {
    const [, m] = await stopAll([good, member]);
    expect(m.stderr).toMatch(/does not open with FLEET_KEY_FILE/);
    expect(m.stderr).toMatch(/installed certificate stays/);
    expect(m.stderr + m.stdout).not.toContain('sentinel-TOKEN');
  }
});

test('the issuer SIGKILLed mid-renewal: another host is issuer within the lease, sweeps its TXT records, renews once; no key/cert mismatch', async () => {
  const keyFile = etcd.newKeyFile('fo');
  let hosts = ['h1', 'h2', 'h3'].map((n) => startHost('fo', keyFile, n));
  await allCurrent(hosts[0], ['h1', 'h2', 'h3'], 90_000).finally(() => stopAll(hosts));
  // A name is added on every host: the fleet's certificate is due. h1 comes back first, so it is
  // elected; its resolver never answers, so its renewal stays in the middle (TXT records published).
  const DOMAINS = 'example.test,*.example.test,www.example.test';
  const h1 = startHost('fo', keyFile, 'h1', { DOMAINS, DNS_RESOLVERS: '127.0.0.1:9', DNS_PROPAGATION_TIMEOUT: '60' });
  hosts = [h1];
  try {
    // All three of its records published: it now only waits for DNS (no request of its own in flight when killed).
    await waitFor(async () => (await fleetStatus(h1)).issuer === 'h1' && challengeRecords().length === 3, 60_000, { what: 'h1 issuer, its three TXT records published', intervalMs: 200 });
    hosts.push(...['h2', 'h3'].map((n) => startHost('fo', keyFile, n, { DOMAINS })));
    await waitFor(async () => (await fleetStatus(h1)).hosts.filter((h) => h.alive).length === 3, 30_000, { what: 'h2 and h3 joined', intervalMs: 200 });
    const v1 = (await fleetStatus(h1)).certificate!;
    const createdBefore = stack.fake.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/dns_records')).length;
    killTree(h1.cli.child.pid!);
    await h1.cli.done;
    const left = challengeRecords();
    expect(left.length).toBeGreaterThan(0);
    // Within the lease TTL (3 s) plus the time to ask: another host is the issuer.
    await waitFor(async () => ['h2', 'h3'].includes((await fleetStatus(hosts[1])).issuer ?? ''), 3000 + 4000, { what: 'a new issuer within the lease TTL', intervalMs: 200 });
    await allCurrent(hosts[1], ['h2', 'h3'], 60_000, (s) => s.certificate!.version > v1.version);
    const status = await fleetStatus(hosts[1]);
    expect(status.certificate!.version).toBe(v1.version + 1);
    // The dead issuer's records are swept; one order (three challenge records) since it died.
    const ids = new Set(challengeRecords().map((r) => r.id));
    expect(left.filter((r) => ids.has(r.id))).toEqual([]);
    const creates = stack.fake.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/dns_records')).slice(createdBefore);
    if (creates.length !== 3) console.log('creates since the kill:', JSON.stringify(creates, null, 1), 'records left by h1:', JSON.stringify(left, null, 1));
    expect(creates.map((r) => (r.body as { name: string }).name).sort()).toEqual(['_acme-challenge.example.test', '_acme-challenge.example.test', '_acme-challenge.www.example.test']);
    expect(status.hosts.find((h) => h.host === 'h1')!.state).toBe('gone');
    // Every host's files are one consistent set: h1 the old certificate, h2 and h3 the new one.
    expect(installedFingerprint(h1)).toBe(v1.fingerprint256);
    expect(hosts.slice(1).map(installedFingerprint)).toEqual([status.certificate!.fingerprint256, status.certificate!.fingerprint256]);
  } finally {
    await stopAll(hosts);
  }
});

test('one etcd member down: renewals still work; two down: hosts keep serving, log one clear line, recover when they return', async () => {
  const keyFile = etcd.newKeyFile('q');
  const hosts = ['h1', 'h2', 'h3'].map((n) => startHost('q', keyFile, n));
  const stderr: Record<string, string> = {};
  for (const h of hosts) h.cli.child.stderr!.on('data', (d: Buffer) => (stderr[h.name] = (stderr[h.name] ?? '') + d.toString()));
  try {
    await allCurrent(hosts[0], ['h1', 'h2', 'h3'], 90_000);
    const v1 = (await fleetStatus(hosts[0])).certificate!;
    await etcd.members[0].stop();
    const issuerName = (await fleetStatus(hosts[1])).issuer;
    const issuer = hosts.find((h) => h.name === issuerName)!;
    expect((await renewForce(issuer)).code).toBe(0);
    await allCurrent(hosts[1], ['h1', 'h2', 'h3'], 60_000, (s) => s.certificate!.version === v1.version + 1);
    const v2 = (await fleetStatus(hosts[1])).certificate!;
    expect(v2.fingerprint256).not.toBe(v1.fingerprint256);

    await etcd.members[1].stop();
    await waitFor(() => hosts.every((h) => count(stderr[h.name] ?? '', 'fleet: etcd still unreachable') >= 2), 60_000, { what: 'every host retrying', intervalMs: 200 });
    for (const h of hosts) {
      expect(h.cli.child.exitCode).toBeNull();
      expect(count(stderr[h.name], 'fleet: etcd is unreachable')).toBe(1);
      expect(installedFingerprint(h)).toBe(v2.fingerprint256);
    }

    etcd.members[0].start();
    etcd.members[1].start();
    await etcd.waitHealthy(30_000);
    const back = new Date().toISOString();
    await waitFor(() => hosts.every((h) => stderr[h.name].includes('etcd reachable again; catching up with the fleet')), 60_000, { what: 'every host back in the fleet', intervalMs: 200 });
    // Reports written since the quorum returned (etcd keeps leases alive across a lost quorum, so older ones may linger).
    await allCurrent(hosts[0], ['h1', 'h2', 'h3'], 30_000, (s) => s.issuer !== null && s.hosts.filter((h) => h.at > back).length === 3);
  } finally {
    if (!etcd.members[0].running()) etcd.members[0].start();
    if (!etcd.members[1].running()) etcd.members[1].start();
    await stopAll(hosts);
  }
});

test('a host offline during a renewal catches up when it returns, and a new host joins, both without an order', async () => {
  const keyFile = etcd.newKeyFile('cu');
  const hosts = ['h1', 'h2'].map((n) => startHost('cu', keyFile, n, { FLEET_ROLE: n === 'h1' ? 'issuer' : 'member' }));
  let late: Host | undefined;
  try {
    await allCurrent(hosts[0], ['h1', 'h2'], 90_000);
    await stopCli(hosts[1].cli);
    expect((await renewForce(hosts[0])).code).toBe(0);
    const v2 = (await fleetStatus(hosts[0])).certificate!;
    expect(v2.version).toBe(2);
    const creates = recordCreates();
    hosts[1] = startHost('cu', keyFile, 'h2', { FLEET_ROLE: 'member', CLOUDFLARE_API_TOKEN: undefined });
    late = startHost('cu', keyFile, 'h3', { FLEET_ROLE: 'member', CLOUDFLARE_API_TOKEN: undefined });
    await allCurrent(hosts[0], ['h1', 'h2', 'h3'], 60_000);
    expect([hosts[1], late].map(installedFingerprint)).toEqual([v2.fingerprint256, v2.fingerprint256]);
    expect(recordCreates()).toBe(creates);
  } finally {
    await stopAll(late ? [...hosts, late] : hosts);
  }
});

test('without FLEET_* the idle service and status load no fleet code (only its settings parser); with it, run loads the client', async () => {
  const probe = join(stack.dir, 'fleet-loaded.js');
  writeFileSync(probe, "process.on('exit', () => { const m = Object.keys(require.cache).filter((k) => /[\\\\/]fleet[\\\\/](?!config\\.js)/.test(k)); require('fs').writeSync(2, '\\nFLEET-LOADED ' + m.length + '\\n'); });\n");
  const loaded = (r: CliResult) => Number(/FLEET-LOADED (\d+)/.exec(r.stderr)?.[1] ?? -1);
  const idle = async (env: Record<string, string>) => {
    const service = startCli(['run'], { ...env, NODE_OPTIONS: `--require ${probe}`, RENEW_START_DELAY: '3600', RENEW_SCHEDULE: '0 0 1 1 *' }, stack.dir);
    let out = '';
    service.child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => out.includes('nrcert service started'), 20_000, { what: 'the service started' });
    return stopCli(service);
  };
  const plain = stack.env({ CERT_DIR: join(stack.dir, 'lazy', 'certs'), STATE_DIR: join(stack.dir, 'lazy', 'state') });
  expect(loaded(await idle(plain))).toBe(0);
  expect(loaded(await runCli(['status'], { ...plain, NODE_OPTIONS: `--require ${probe}` }, stack.dir))).toBe(0);
  const inFleet = { ...plain, ...etcd.fleetEnv('lazy', etcd.newKeyFile('lazy')), FLEET_HOST: 'lazy' };
  expect(loaded(await idle(inFleet))).toBeGreaterThan(0);
});

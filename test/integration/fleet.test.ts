/**
 * A fleet of nrcert hosts (real `nrcert run` processes, each with its own CERT_DIR and STATE_DIR)
 * on a real three-member etcd cluster over TLS, against Pebble and the Cloudflare fake.
 */
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, startCli, startStack, stopCli, type CliResult, type Stack } from '../helpers/cli';
import { startEtcdCluster, type EtcdCluster } from '../helpers/etcd';
import { waitFor } from '../helpers/wait';

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

async function fleetStatus(host: Host): Promise<{ issuer: string | null; certificate: { fingerprint256: string; version: number } | null; hosts: Array<{ host: string; state: string; fingerprint256?: string; issuer: boolean; outcome: string; alive: boolean }> }> {
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

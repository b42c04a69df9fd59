/**
 * The fleet when things fail: the issuer SIGKILLed in the middle of a renewal, etcd members
 * stopped (one: renewals go on; two: no quorum, hosts keep serving and recover). Real `nrcert run`
 * hosts on a real three-member etcd cluster, Pebble and the Cloudflare fake.
 */
import { installedFingerprint, startFleetWorld, stopAll, type FleetWorld } from '../helpers/fleet';
import { killTree } from '../helpers/process';
import { waitFor } from '../helpers/wait';

jest.setTimeout(180_000);

let w: FleetWorld;
beforeAll(async () => {
  w = await startFleetWorld();
});
afterAll(async () => {
  await w?.stop();
});

const count = (text: string, what: string) => text.split(what).length - 1;

test('the issuer SIGKILLed mid-renewal: another host is issuer within the lease, sweeps its TXT records, renews once; no key/cert mismatch', async () => {
  const keyFile = w.etcd.newKeyFile('fo');
  let hosts = ['h1', 'h2', 'h3'].map((n) => w.startHost('fo', keyFile, n));
  await w.allCurrent(hosts[0], ['h1', 'h2', 'h3'], 90_000).finally(() => stopAll(hosts));
  // A name is added on every host: the fleet's certificate is due. h1 comes back first, so it is
  // elected; its resolver never answers, so its renewal stays in the middle (TXT records published).
  const DOMAINS = 'example.test,*.example.test,www.example.test';
  const h1 = w.startHost('fo', keyFile, 'h1', { DOMAINS, DNS_RESOLVERS: '127.0.0.1:9', DNS_PROPAGATION_TIMEOUT: '60' });
  hosts = [h1];
  try {
    // All three of its records published: it now only waits for DNS (no request of its own in flight when killed).
    await waitFor(async () => (await w.fleetStatus(h1)).issuer === 'h1' && w.challengeRecords().length === 3, 60_000, { what: 'h1 issuer, its three TXT records published', intervalMs: 200 });
    hosts.push(...['h2', 'h3'].map((n) => w.startHost('fo', keyFile, n, { DOMAINS })));
    await waitFor(async () => (await w.fleetStatus(h1)).hosts.filter((h) => h.alive).length === 3, 30_000, { what: 'h2 and h3 joined', intervalMs: 200 });
    const v1 = (await w.fleetStatus(h1)).certificate!;
    const createdBefore = w.stack.fake.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/dns_records')).length;
    killTree(h1.cli.child.pid!);
    await h1.cli.done;
    const left = w.challengeRecords();
    expect(left.length).toBeGreaterThan(0);
    // Within the lease TTL (3 s) plus the time to ask: another host is the issuer.
    await waitFor(async () => ['h2', 'h3'].includes((await w.fleetStatus(hosts[1])).issuer ?? ''), 3000 + 4000, { what: 'a new issuer within the lease TTL', intervalMs: 200 });
    await w.allCurrent(hosts[1], ['h2', 'h3'], 60_000, (s) => s.certificate!.version > v1.version);
    const status = await w.fleetStatus(hosts[1]);
    expect(status.certificate!.version).toBe(v1.version + 1);
    // The dead issuer's records are swept; one order (three challenge records) since it died.
    const ids = new Set(w.challengeRecords().map((r) => r.id));
    expect(left.filter((r) => ids.has(r.id))).toEqual([]);
    const creates = w.stack.fake.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/dns_records')).slice(createdBefore);
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
  const keyFile = w.etcd.newKeyFile('q');
  const hosts = ['h1', 'h2', 'h3'].map((n) => w.startHost('q', keyFile, n));
  const stderr: Record<string, string> = {};
  for (const h of hosts) h.cli.child.stderr!.on('data', (d: Buffer) => (stderr[h.name] = (stderr[h.name] ?? '') + d.toString()));
  try {
    await w.allCurrent(hosts[0], ['h1', 'h2', 'h3'], 90_000);
    const v1 = (await w.fleetStatus(hosts[0])).certificate!;
    await w.etcd.members[0].stop();
    // A host whose session was on that member reconnects through the others (and may be elected anew).
    let issuerName: string | null = null;
    await waitFor(async () => (issuerName = (await w.fleetStatus(hosts[1])).issuer) !== null, 30_000, { what: 'an issuer with one member down', intervalMs: 200 });
    const issuer = hosts.find((h) => h.name === issuerName)!;
    expect((await w.renewForce(issuer)).code).toBe(0);
    await w.allCurrent(hosts[1], ['h1', 'h2', 'h3'], 60_000, (s) => s.certificate!.version === v1.version + 1);
    const v2 = (await w.fleetStatus(hosts[1])).certificate!;
    expect(v2.fingerprint256).not.toBe(v1.fingerprint256);

    await w.etcd.members[1].stop();
    await waitFor(() => hosts.every((h) => count(stderr[h.name] ?? '', 'fleet: etcd still unreachable') >= 2), 60_000, { what: 'every host retrying', intervalMs: 200 });
    for (const h of hosts) {
      expect(h.cli.child.exitCode).toBeNull();
      expect(count(stderr[h.name], 'fleet: etcd is unreachable')).toBe(1);
      expect(installedFingerprint(h)).toBe(v2.fingerprint256);
    }

    w.etcd.members[0].start();
    w.etcd.members[1].start();
    await w.etcd.waitHealthy(30_000);
    const back = new Date().toISOString();
    await waitFor(() => hosts.every((h) => stderr[h.name].includes('etcd reachable again; catching up with the fleet')), 60_000, { what: 'every host back in the fleet', intervalMs: 200 });
    // Reports written since the quorum returned (etcd keeps leases alive across a lost quorum, so older ones may linger).
    await w.allCurrent(hosts[0], ['h1', 'h2', 'h3'], 30_000, (s) => s.issuer !== null && s.hosts.filter((h) => h.at > back).length === 3);
  } finally {
    if (!w.etcd.members[0].running()) w.etcd.members[0].start();
    if (!w.etcd.members[1].running()) w.etcd.members[1].start();
    await stopAll(hosts);
  }
});

test('an issuer whose renewals keep failing (a bad token) hands the role over, and a host with a working token issues', async () => {
  const keyFile = w.etcd.newKeyFile('ho');
  const h1 = w.startHost('ho', keyFile, 'h1', { CLOUDFLARE_API_TOKEN: 'not-a-valid-token-0000' });
  let out = '';
  h1.cli.child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const hosts = [h1];
  try {
    await waitFor(async () => (await w.fleetStatus(h1)).issuer === 'h1', 30_000, { what: 'h1 elected', intervalMs: 200 });
    hosts.push(w.startHost('ho', keyFile, 'h2'));
    await w.allCurrent(h1, ['h1', 'h2'], 90_000);
    const status = await w.fleetStatus(h1);
    expect(status.certificate!.issuedBy).toBe('h2');
    expect(status.issuer).toBe('h2');
    expect(out).toContain('renewal checks failed in a row; handing the issuer role over to another host');
    expect(hosts.map(installedFingerprint)).toEqual([status.certificate!.fingerprint256, status.certificate!.fingerprint256]);
  } finally {
    await stopAll(hosts);
  }
});

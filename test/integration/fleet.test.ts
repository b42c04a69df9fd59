/**
 * A fleet of nrcert hosts (real `nrcert run` processes, each with its own CERT_DIR and STATE_DIR)
 * on a real three-member etcd cluster over TLS, against Pebble and the Cloudflare fake: one order
 * for the fleet, every host installs and reports it, a wrong FLEET_KEY, hosts that come late, the
 * activation of a member's own Node-RED, and what the idle service loads.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, startCli, stopCli, type CliResult } from '../helpers/cli';
import { installedFingerprint, startFleetWorld, stopAll, type FleetWorld, type Host } from '../helpers/fleet';
import { prepareUserDir, startNodeRed, type NodeRedInstance } from '../helpers/nodered';
import { waitFor } from '../helpers/wait';

jest.setTimeout(180_000);

let w: FleetWorld;
beforeAll(async () => {
  w = await startFleetWorld();
});
afterAll(async () => {
  await w?.stop();
});

test('three hosts: one issuance for the fleet, all three install it, all three report it', async () => {
  const keyFile = w.etcd.newKeyFile('one');
  const before = w.recordCreates('_acme-challenge.example.test');
  const hosts = ['h1', 'h2', 'h3'].map((n) => w.startHost('one', keyFile, n));
  try {
    await waitFor(async () => {
      const status = await w.fleetStatus(hosts[0]);
      return status.certificate !== null && status.hosts.filter((h) => h.state === 'current').length === 3;
    }, 90_000, { what: 'all three hosts current', intervalMs: 500 });
    const status = await w.fleetStatus(hosts[0]);
    const fingerprints = hosts.map(installedFingerprint);
    expect(new Set(fingerprints).size).toBe(1);
    expect(fingerprints[0]).toBe(status.certificate!.fingerprint256);
    expect(status.hosts.map((h) => h.host)).toEqual(['h1', 'h2', 'h3']);
    expect(status.hosts.every((h) => h.fingerprint256 === fingerprints[0])).toBe(true);
    expect(status.hosts.filter((h) => h.issuer).map((h) => h.host)).toEqual([status.issuer]);
    // Each host's status.json and metrics say what it serves, members included (monitoring sees the fleet's certificate).
    for (const h of hosts) {
      await waitFor(() => JSON.parse(readFileSync(join(h.env.STATE_DIR, 'status.json'), 'utf8')).certificate?.fingerprint256 === fingerprints[0], 10_000, { what: `${h.name}'s status.json` });
    }
    // In etcd: the set, its key sealed (neither the PEM nor its body in clear anywhere), one report per host.
    const stored = w.etcd.dump('/nrcert/fleet/one/');
    expect(Object.keys(stored).filter((k) => k.includes('/set/')).sort()).toEqual(['chain', 'cert', 'key', 'lineage', 'version'].sort().map((k) => `/nrcert/fleet/one/set/${k}`));
    const keyBody = readFileSync(join(hosts[0].env.CERT_DIR, 'privkey.pem'), 'utf8').split('\n')[1];
    expect(Object.values(stored).join('\n')).not.toMatch(/PRIVATE KEY/);
    expect(Object.values(stored).join('\n')).not.toContain(keyBody);
    expect(JSON.parse(stored['/nrcert/fleet/one/set/key'])).toMatchObject({ alg: 'A256GCM' });
    // A few more checks go by: nobody orders again.
    await new Promise((r) => setTimeout(r, 4000));
    expect(w.recordCreates('_acme-challenge.example.test') - before).toBe(2);
  } finally {
    const results = await stopAll(hosts);
    const fleetKey = readFileSync(keyFile);
    for (const r of results) {
      expect(r.stderr + r.stdout).not.toContain('sentinel-TOKEN');
      expect(r.stderr + r.stdout).not.toContain(fleetKey.toString('base64'));
      expect(r.stderr + r.stdout).not.toContain(fleetKey.toString('hex'));
    }
  }
});

test('a host whose FLEET_KEY is wrong refuses to install the fleet\'s certificate and keeps its own', async () => {
  const keyFile = w.etcd.newKeyFile('wk');
  const wrongKey = w.etcd.newKeyFile('wk-wrong');
  // The bad host has a certificate of its own already (from a renewal before it joined).
  const bad = { name: 'bad', env: w.stack.env({ CERT_DIR: join(w.stack.dir, 'wk', 'bad', 'certs'), STATE_DIR: join(w.stack.dir, 'wk', 'bad', 'state') }) };
  const own = await runCli(['renew'], bad.env, w.stack.dir);
  expect(own).toMatchObject({ code: 0 });
  const good = w.startHost('wk', keyFile, 'good');
  const before = installedFingerprint(bad);
  const member = w.startHost('wk', wrongKey, 'bad', { FLEET_ROLE: 'member', CLOUDFLARE_API_TOKEN: undefined });
  try {
    await waitFor(async () => {
      const { hosts } = await w.fleetStatus(good);
      return hosts.some((h) => h.host === 'bad' && h.outcome === 'key_error') && hosts.some((h) => h.host === 'good' && h.state === 'current');
    }, 60_000, { what: 'the good host current, the bad one reporting key_error', intervalMs: 500 });
    const status = await w.fleetStatus(good);
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

test('a host offline during a renewal catches up when it returns, and a new host joins, both without an order', async () => {
  const keyFile = w.etcd.newKeyFile('cu');
  const hosts = ['h1', 'h2'].map((n) => w.startHost('cu', keyFile, n, { FLEET_ROLE: n === 'h1' ? 'issuer' : 'member' }));
  let late: Host | undefined;
  try {
    await w.allCurrent(hosts[0], ['h1', 'h2'], 90_000);
    await stopCli(hosts[1].cli);
    expect((await w.renewForce(hosts[0])).code).toBe(0);
    const v2 = (await w.fleetStatus(hosts[0])).certificate!;
    expect(v2.version).toBe(2);
    const creates = w.recordCreates();
    hosts[1] = w.startHost('cu', keyFile, 'h2', { FLEET_ROLE: 'member', CLOUDFLARE_API_TOKEN: undefined });
    late = w.startHost('cu', keyFile, 'h3', { FLEET_ROLE: 'member', CLOUDFLARE_API_TOKEN: undefined });
    await w.allCurrent(hosts[0], ['h1', 'h2', 'h3'], 60_000);
    expect([hosts[1], late].map(installedFingerprint)).toEqual([v2.fingerprint256, v2.fingerprint256]);
    expect(w.recordCreates()).toBe(creates);
  } finally {
    await stopAll(late ? [...hosts, late] : hosts);
  }
});

test('a member activates its own Node-RED (restart hook, served-certificate check) and rolls back when Node-RED does not take it', async () => {
  const keyFile = w.etcd.newKeyFile('nr');
  const issuer = w.startHost('nr', keyFile, 'i', { FLEET_ROLE: 'issuer' });
  const memberEnv = { FLEET_ROLE: 'member', CLOUDFLARE_API_TOKEN: undefined };
  let member = w.startHost('nr', keyFile, 'm', memberEnv);
  let red: NodeRedInstance | undefined;
  try {
    await w.allCurrent(issuer, ['i', 'm'], 90_000);
    await stopCli(member.cli);
    // Node-RED on the member, reading its CERT_DIR (nrcert settings --apply), serving version 1.
    const userDir = join(w.stack.dir, 'nr', 'm', 'nodered');
    mkdirSync(userDir, { recursive: true });
    const settingsPath = prepareUserDir(userDir);
    expect((await runCli(['settings', '--apply', '--settings', settingsPath, '--refresh-minutes', '60'], member.env, w.stack.dir)).code).toBe(0);
    red = await startNodeRed({ userDir });
    await red.waitForTls();
    const v1 = (await w.fleetStatus(issuer)).certificate!;
    expect((await red.servedCertificate()).fingerprint256).toBe(v1.fingerprint256);
    const hook = { RESTART_COMMAND: red.restartCommand.join(' '), NODE_RED_URL: red.url, NODE_RED_SNI: 'example.test', NODE_RED_VERIFY_TIMEOUT: '30' };
    member = w.startHost('nr', keyFile, 'm', { ...memberEnv, ...hook });

    expect((await w.renewForce(issuer)).code).toBe(0);
    await w.allCurrent(issuer, ['i', 'm'], 60_000, (s) => s.certificate!.version === v1.version + 1);
    const v2 = (await w.fleetStatus(issuer)).certificate!;
    expect((await red.servedCertificate()).fingerprint256).toBe(v2.fingerprint256);
    expect((await w.fleetStatus(issuer)).hosts.find((h) => h.host === 'm')!.outcome).toBe('installed');

    // A restart hook that fails: the member goes back to version 2, which Node-RED still serves.
    await stopCli(member.cli);
    member = w.startHost('nr', keyFile, 'm', { ...memberEnv, ...hook, RESTART_COMMAND: '/bin/false' });
    await w.allCurrent(issuer, ['m'], 30_000, (s) => s.hosts.some((h) => h.host === 'm' && h.alive));
    expect((await w.renewForce(issuer)).code).toBe(0);
    await waitFor(async () => (await w.fleetStatus(issuer)).hosts.some((h) => h.host === 'm' && h.outcome === 'rolled_back'), 60_000, { what: 'the member rolled back', intervalMs: 300 });
    const status = await w.fleetStatus(issuer);
    expect(status.certificate!.version).toBe(v2.version + 1);
    expect(status.hosts.find((h) => h.host === 'm')).toMatchObject({ state: 'behind', fingerprint256: v2.fingerprint256 });
    expect(installedFingerprint(member)).toBe(v2.fingerprint256);
    expect((await red.servedCertificate()).fingerprint256).toBe(v2.fingerprint256);
  } finally {
    await stopAll([issuer, member]);
    await red?.stop();
  }
});

test('without FLEET_* the idle service and status load no fleet code (only its settings parser); with it, run loads the client', async () => {
  const probe = join(w.stack.dir, 'fleet-loaded.js');
  writeFileSync(probe, "process.on('exit', () => { const m = Object.keys(require.cache).filter((k) => /[\\\\/]fleet[\\\\/](?!config\\.js)/.test(k)); require('fs').writeSync(2, '\\nFLEET-LOADED ' + m.length + '\\n'); });\n");
  const loaded = (r: CliResult) => {
    const m = /FLEET-LOADED (\d+)/.exec(r.stderr);
    if (!m) throw new Error(`no FLEET-LOADED line: the process did not exit on its own (code ${r.code}, signal ${r.signal})\n${r.stderr.slice(-3000)}`);
    return Number(m[1]);
  };
  const idle = async (env: Record<string, string>) => {
    const service = startCli(['run'], { ...env, NODE_OPTIONS: `--require ${probe}`, RENEW_START_DELAY: '3600', RENEW_SCHEDULE: '0 0 1 1 *' }, w.stack.dir);
    let out = '';
    service.child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => out.includes('nrcert service started'), 20_000, { what: 'the service started' });
    // Elected at once, the fleet's only host starts a renewal; a stop lets it clean up first (the
    // service's grace is 60 s), which takes longer than stopCli's default on a loaded machine.
    return stopCli(service, 60_000);
  };
  const plain = w.stack.env({ CERT_DIR: join(w.stack.dir, 'lazy', 'certs'), STATE_DIR: join(w.stack.dir, 'lazy', 'state') });
  expect(loaded(await idle(plain))).toBe(0);
  expect(loaded(await runCli(['status'], { ...plain, NODE_OPTIONS: `--require ${probe}` }, w.stack.dir))).toBe(0);
  const inFleet = { ...plain, ...w.etcd.fleetEnv('lazy', w.etcd.newKeyFile('lazy')), FLEET_HOST: 'lazy' };
  expect(loaded(await idle(inFleet))).toBeGreaterThan(0);
});

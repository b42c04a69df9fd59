/**
 * A real authoritative zone for tests: a Knot DNS primary and a secondary (Debian `knot`), each
 * on its own loopback address at port 53, the secondary fed by NOTIFY + IXFR from the primary.
 * The zone's NS records name both (ns1, ns2). An Unbound recursive resolver with a stub zone for
 * it is what a resolv.conf names, so a child in its own mount namespace (see spawnInNamespace)
 * finds the nameservers the way a Pi behind its router does, without anything on the host changing.
 *
 *   knsupdate ──RFC 2136──▶ ns1 (primary, 127.0.N.2) ──NOTIFY/IXFR──▶ ns2 (secondary, 127.0.N.3)
 *                            ▲ stub zone                                ▲ Pebble -dnsserver
 *   resolv.conf ──▶ unbound (127.0.N.4): example.test via ns1, every other name refused
 *
 * Knot and Unbound rather than BIND: named listens only on addresses configured on an interface
 * (lo has 127.0.0.1 alone); knotd and unbound bind the addresses they are given, and all of
 * 127.0.0.0/8 is local. Port 53 needs root; the third octet N is picked at run time so runs can
 * sit side by side. Nothing is sent beyond loopback: Unbound refuses every name outside the zone
 * and may only send from 127.0.N.4.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { promises as dns } from 'node:dns';
import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import type { TxtPublisher } from '../fakes/challtestsrv-publisher';
import { NsupdatePublisher } from '../fakes/nsupdate-publisher';
import { writeConfigs } from './knot-config';
import { testKeys, type TestKey } from './bind';
import { CLI, collectOutput, type CliResult } from './cli';
import { startServerProcess, type ServerProcess } from './process';
import { makeTempDir, removeTempDir } from './tmp';
import { waitFor } from './wait';

/** Why the authoritative tests cannot run here (not root, no knotd, no mount namespace), or undefined. */
export function authoritativeUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (port 53 and a mount namespace)';
  for (const tool of ['knotd', 'knotc', 'knsupdate', 'unbound', 'unshare']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed (apt-get install knot knot-dnsutils unbound)`;
  }
  const probe = spawnSync('unshare', ['-m', 'sh', '-c', 'mount --bind /etc/hostname /etc/resolv.conf'], { encoding: 'utf8' });
  if (probe.status !== 0) return `no mount namespace here (unshare -m: ${(probe.stderr || probe.error?.message || '').trim()})`;
  return undefined;
}

/** One nameserver of the zone: its host name in the NS records and its address. */
export interface ZoneServer {
  host: string;
  address: string;
  /** The label nrcert gives it: `ns2.example.test (127.0.N.3)`. */
  label: string;
}

/** A running primary + secondary pair for one zone. */
export interface AuthoritativeZone {
  zone: string;
  primary: ZoneServer;
  secondary: ZoneServer;
  /** Publishes TXT records into the primary by dynamic update (for the Cloudflare fake). */
  publisher: NsupdatePublisher;
  /** The same for each of the extra zones, by name. */
  extraPublishers: Record<string, NsupdatePublisher>;
  /** Publishes each name into whichever served zone holds it (the fake with several zones). */
  everyZone: TxtPublisher;
  /** The TSIG key the primary takes `_acme-challenge` TXT updates with (DNS_PROVIDER=rfc2136). */
  key: TestKey;
  /** The recursive resolver the namespace's resolv.conf names. */
  resolver: string;
  /** A resolv.conf naming the resolver, for spawnInNamespace. */
  resolvConf: string;
  /** The TXT values `server` answers at `name` right now (none on NXDOMAIN/NODATA). */
  txt(server: ZoneServer, name: string): Promise<string[]>;
  /** The primary refuses outgoing IXFR/AXFR: the secondary keeps what it had (NOTIFYs still go out). */
  holdTransfers(): Promise<void>;
  /** Lets transfers through again and NOTIFYs the secondary, which then fetches by IXFR. */
  releaseTransfers(): Promise<void>;
  /** Both servers' logs, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts the primary, waits for it, then the secondary, and waits until it has the zone.
 * `extraZones` are served by the same pair (NS ns1/ns2 of `zone`) and reachable through the resolver.
 */
export async function startAuthoritativeZone(zone = 'example.test', extraZones: string[] = []): Promise<AuthoritativeZone> {
  const dir = await makeTempDir('knot');
  const processes: ServerProcess[] = [];
  const stop = async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await removeTempDir(dir);
  };
  try {
    const n = await freeLoopbackBlock();
    const primary = server(`ns1.${zone}`, `127.0.${n}.2`);
    const secondary = server(`ns2.${zone}`, `127.0.${n}.3`);
    const resolver = `127.0.${n}.4`;
    const { key } = testKeys();
    const resolvConf = await writeConfigs(dir, zone, primary, secondary, resolver, extraZones, key);
    const output = () => processes.map((p) => `--- ${p.name} (${p.exitStatus() ?? 'running'}) ---\n${p.output()}`).join('\n');
    const start = async (name: string, command: string, args: string[], ready: () => Promise<boolean>, what: string) => {
      processes.push(startServerProcess(name, command, args, process.env, dir));
      await waitFor(ready, 10_000, { what }).catch((err) => { throw new Error(`${(err as Error).message}\n${output()}`); });
    };
    const serves = (s: ZoneServer) => async () => {
      for (const z of [zone, ...extraZones]) if ((await query(s.address, z, 'SOA')).length === 0) return false;
      return true;
    };
    await start('knotd primary', 'knotd', ['-c', join(dir, 'primary.conf')], serves(primary), `the primary at ${primary.address}`);
    await start('knotd secondary', 'knotd', ['-c', join(dir, 'secondary.conf')], serves(secondary), `the secondary at ${secondary.address}`);
    await start('unbound', 'unbound', ['-d', '-c', join(dir, 'unbound.conf')], async () => (await query(resolver, zone, 'NS')).length === 2, `the resolver at ${resolver}`);
    const knotc = (...args: string[]) => run('knotc', ['-c', join(dir, 'primary.conf'), ...args]);
    const publisher = new NsupdatePublisher({ address: primary.address, port: 53 }, zone);
    const extraPublishers = Object.fromEntries(extraZones.map((z) => [z, new NsupdatePublisher({ address: primary.address, port: 53 }, z)]));
    const holder = (name: string) => extraZones.find((z) => `.${name.replace(/\.$/, '')}`.endsWith(`.${z}`));
    const publisherOf = (name: string) => { const z = holder(name); return z ? extraPublishers[z] : publisher; };
    return {
      zone, primary, secondary, resolver, resolvConf, output, stop, publisher, extraPublishers, key,
      everyZone: { add: (name, value) => publisherOf(name).add(name, value), replace: (name, values) => publisherOf(name).replace(name, values) },
      txt: (s, name) => query(s.address, name, 'TXT'),
      holdTransfers: () => knotc('zone-xfr-freeze', zone),
      releaseTransfers: async () => {
        await knotc('zone-xfr-thaw', zone);
        await knotc('zone-notify', zone);
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

function server(host: string, address: string): ZoneServer {
  return { host, address, label: `${host} (${address})` };
}

/** A third octet N whose 127.0.N.2, .3 and .4 are free at UDP port 53 (0 first: the classic 127.0.0.2/3/4). */
async function freeLoopbackBlock(): Promise<number> {
  const candidates = [0, ...Array.from({ length: 20 }, () => 1 + Math.floor(Math.random() * 250))];
  for (const n of candidates) {
    if ((await udpFree(`127.0.${n}.2`)) && (await udpFree(`127.0.${n}.3`)) && (await udpFree(`127.0.${n}.4`))) return n;
  }
  throw new Error('no free pair of loopback addresses at port 53');
}

/** True when nothing is bound at UDP port 53 of `address` (we can bind it ourselves). */
export function udpFree(address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket(address.includes(':') ? 'udp6' : 'udp4');
    socket.once('error', () => resolve(false));
    socket.bind(53, address, () => socket.close(() => resolve(true)));
  });
}

/** Asks one server directly (no recursion involved); NXDOMAIN/NODATA/errors give []. */
async function query(address: string, name: string, type: 'TXT' | 'SOA' | 'NS'): Promise<string[]> {
  const resolver = new dns.Resolver({ timeout: 1000, tries: 1 });
  resolver.setServers([`${address}:53`]);
  try {
    if (type === 'SOA') return [(await resolver.resolveSoa(name)).nsname];
    if (type === 'NS') return await resolver.resolveNs(name);
    return (await resolver.resolveTxt(name)).map((chunks) => chunks.join(''));
  } catch {
    return [];
  }
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')}: exit ${code}: ${output.trim()}`))));
  });
}

/**
 * Starts `nrcert args…` in a mount namespace of its own whose /etc/resolv.conf is `resolvConf`
 * (bind-mounted; unshare makes the namespace's mounts private, so the host never sees it).
 */
export function spawnInNamespace(resolvConf: string, args: string[], env: Record<string, string>, cwd: string): { child: ChildProcess; done: Promise<CliResult> } {
  return spawnCommand(resolvConf, [process.execPath, '--', CLI, ...args], env, cwd);
}

/** Runs any command in such a namespace (e.g. `getent ahosts ns2.example.test`). */
export function spawnCommandInNamespace(resolvConf: string, command: string[]): Promise<CliResult> {
  return spawnCommand(resolvConf, command, { PATH: process.env.PATH ?? '/usr/bin:/bin' }, '/').done;
}

function spawnCommand(resolvConf: string, command: string[], env: Record<string, string>, cwd: string): { child: ChildProcess; done: Promise<CliResult> } {
  const script = 'mount --bind "$1" /etc/resolv.conf && shift && exec "$@"';
  return collectOutput(spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script, 'nrcert-ns', resolvConf, ...command],
    { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] }));
}

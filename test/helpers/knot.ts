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
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NsupdatePublisher } from '../fakes/nsupdate-publisher';
import { CLI, type CliResult } from './cli';
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

/** Starts the primary, waits for it, then the secondary, and waits until it has the zone. */
export async function startAuthoritativeZone(zone = 'example.test'): Promise<AuthoritativeZone> {
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
    await mkdir(join(dir, 'primary'));
    await mkdir(join(dir, 'secondary'));
    await writeFile(join(dir, `${zone}.zone`), zoneFile(zone, primary, secondary));
    await writeFile(join(dir, 'primary.conf'), primaryConf(dir, zone, primary, secondary));
    await writeFile(join(dir, 'secondary.conf'), secondaryConf(dir, zone, primary, secondary));
    const resolvConf = join(dir, 'resolv.conf');
    await writeFile(join(dir, 'unbound.conf'), unboundConf(dir, zone, primary, resolver));
    await writeFile(resolvConf, `nameserver ${resolver}\noptions timeout:1 attempts:2\n`);
    const output = () => processes.map((p) => `--- ${p.name} (${p.exitStatus() ?? 'running'}) ---\n${p.output()}`).join('\n');
    const txt = (s: ZoneServer, name: string) => query(s.address, name, 'TXT');
    const serves = (s: ZoneServer) => async () => (await query(s.address, zone, 'SOA')).length > 0;
    processes.push(startServerProcess('knotd primary', 'knotd', ['-c', join(dir, 'primary.conf')], process.env, dir));
    await waitFor(serves(primary), 10_000, { what: `the primary at ${primary.address}` }).catch((err) => { throw new Error(`${(err as Error).message}\n${output()}`); });
    processes.push(startServerProcess('knotd secondary', 'knotd', ['-c', join(dir, 'secondary.conf')], process.env, dir));
    await waitFor(serves(secondary), 10_000, { what: `the secondary at ${secondary.address}` }).catch((err) => { throw new Error(`${(err as Error).message}\n${output()}`); });
    processes.push(startServerProcess('unbound', 'unbound', ['-d', '-c', join(dir, 'unbound.conf')], process.env, dir));
    const resolves = async () => (await query(resolver, zone, 'NS')).length === 2;
    await waitFor(resolves, 10_000, { what: `the resolver at ${resolver}` }).catch((err) => { throw new Error(`${(err as Error).message}\n${output()}`); });
    const knotc = (...args: string[]) => run('knotc', ['-c', join(dir, 'primary.conf'), ...args]);
    return {
      zone, primary, secondary, resolver, resolvConf, txt, output, stop,
      publisher: new NsupdatePublisher({ address: primary.address, port: 53 }, zone),
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

function zoneFile(zone: string, primary: ZoneServer, secondary: ZoneServer): string {
  // refresh 60 s, retry 10 s: a refused transfer is retried, but NOTIFY is what brings changes.
  return [
    `$ORIGIN ${zone}.`, '$TTL 60',
    `@ IN SOA ${primary.host}. hostmaster.${zone}. 1 60 10 3600 5`,
    `@ IN NS ${primary.host}.`, `@ IN NS ${secondary.host}.`,
    `${primary.host}. IN A ${primary.address}`, `${secondary.host}. IN A ${secondary.address}`, '',
  ].join('\n');
}

function serverSection(dir: string, name: string, listen: string): string {
  return [
    'server:', `  rundir: "${dir}/${name}"`, `  listen: ${listen}@53`, `  pidfile: "${dir}/${name}/knot.pid"`,
    'database:', `  storage: "${dir}/${name}"`,
    'log:', '  - target: stderr', '    any: info',
  ].join('\n');
}

function primaryConf(dir: string, zone: string, primary: ZoneServer, secondary: ZoneServer): string {
  return `${serverSection(dir, 'primary', primary.address)}
remote:
  - id: secondary
    address: ${secondary.address}@53
    via: ${primary.address}
acl:
  - id: update
    address: 127.0.0.0/8
    action: update
  - id: transfer
    address: ${secondary.address}
    action: transfer
template:
  - id: default
    storage: "${dir}"
    zonefile-sync: -1
    zonefile-load: difference-no-serial
    journal-content: all
zone:
  - domain: ${zone}
    notify: secondary
    acl: [update, transfer]
`;
}

function secondaryConf(dir: string, zone: string, primary: ZoneServer, secondary: ZoneServer): string {
  return `${serverSection(dir, 'secondary', secondary.address)}
remote:
  - id: primary
    address: ${primary.address}@53
    via: ${secondary.address}
acl:
  - id: notify
    address: ${primary.address}
    action: notify
template:
  - id: default
    storage: "${dir}/secondary"
zone:
  - domain: ${zone}
    master: primary
    acl: notify
`;
}

/**
 * Unbound as the machine's resolver: recursion for the zone through a stub to the primary, and
 * everything else refused locally (no root priming, no DNSSEC trust anchor to fetch), so it never
 * sends a query beyond loopback; the zone's names are not cached past their TTL.
 */
function unboundConf(dir: string, zone: string, primary: ZoneServer, resolver: string): string {
  return `server:
  interface: ${resolver}
  port: 53
  do-ip6: no
  do-daemonize: no
  use-syslog: no
  logfile: ""
  username: ""
  chroot: ""
  directory: "${dir}"
  pidfile: "${dir}/unbound.pid"
  access-control: 127.0.0.0/8 allow
  do-not-query-localhost: no
  module-config: "iterator"
  outgoing-interface: ${resolver}
  local-zone: "." refuse
  local-zone: "${zone}." transparent
stub-zone:
  name: "${zone}"
  stub-addr: ${primary.address}
remote-control:
  control-enable: no
`;
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
  const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script, 'nrcert-ns', resolvConf, ...command],
    { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

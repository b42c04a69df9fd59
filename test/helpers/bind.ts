/**
 * A real BIND 9 (Debian `bind9`, /usr/sbin/named) serving one zone on 127.0.0.1 at a port chosen
 * at run time, taking TSIG-signed dynamic updates: the server nrcert's DNS_PROVIDER=rfc2136 talks
 * to in tests, and where Pebble (`-dnsserver`) resolves the challenges. Two keys: `nrcert-key`,
 * allowed exactly what the README's update-policy allows (TXT at `_acme-challenge.<zone>`), and
 * `readonly-key`, known to the server but allowed nothing (for REFUSED).
 *
 * 127.0.0.1 because named only listens on addresses configured on an interface (see knot.ts).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as dns } from 'node:dns';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from './ports';
import { startServerProcess, type ServerProcess } from './process';
import { makeTempDir, removeTempDir } from './tmp';
import { waitFor } from './wait';

/** Why BIND cannot run here, or undefined. */
export function bindUnavailable(): string | undefined {
  return spawnSync('sh', ['-c', 'command -v named || test -x /usr/sbin/named']).status === 0 ? undefined : 'named is not installed (apt-get install bind9)';
}

/** A TSIG key as named.conf and nrcert's settings need it. */
export interface TestKey {
  name: string;
  algorithm: string;
  /** base64 */
  secret: string;
}

/** A running server taking the test's TSIG-signed updates (BIND here, Knot in knot-update.ts). */
export interface UpdateServer {
  /** 'bind' or 'knot'. */
  kind: 'bind' | 'knot';
  zone: string;
  /** '127.0.0.1:PORT': RFC2136_SERVER, DNS_RESOLVERS and Pebble's -dnsserver. */
  address: string;
  host: string;
  port: number;
  /** Allowed to change TXT records at _acme-challenge.<zone> only. */
  key: TestKey;
  /** Known to the server, allowed no update. */
  readonlyKey: TestKey;
  /** The TXT values the server answers at `name` now (none on NXDOMAIN/NODATA). */
  txt(name: string): Promise<string[]>;
  /** The server's log, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

/** Starts named for `zone` and waits until it answers the zone's SOA. */
export async function startBind(zone = 'example.test'): Promise<UpdateServer> {
  const dir = await makeTempDir('bind');
  let named: ServerProcess | undefined;
  const stop = async () => {
    await named?.stop();
    await removeTempDir(dir);
  };
  try {
    const port = await freePort({ udp: true });
    const { key, readonlyKey } = testKeys();
    await writeFile(join(dir, `${zone}.zone`), zoneFile(zone));
    await writeFile(join(dir, 'named.conf'), namedConf(dir, zone, port, [key, readonlyKey]));
    named = startServerProcess('named', '/usr/sbin/named', ['-g', '-n', '1', '-c', join(dir, 'named.conf')], process.env, dir);
    const server = named;
    const txt = (name: string) => txtAt(port, name);
    await waitUntilServing(server, port, zone);
    return { kind: 'bind', zone, address: `127.0.0.1:${port}`, host: '127.0.0.1', port, key, readonlyKey, txt, output: () => server.output(), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The two keys of every update server: one the policy allows, one it does not. */
export function testKeys(): { key: TestKey; readonlyKey: TestKey } {
  const make = (name: string): TestKey => ({ name, algorithm: 'hmac-sha256', secret: randomBytes(32).toString('base64') });
  return { key: make('nrcert-key'), readonlyKey: make('readonly-key') };
}

/** Waits until `server` answers the SOA of `zone` at 127.0.0.1:`port`; fails fast when it exits. */
export async function waitUntilServing(server: ServerProcess, port: number, zone: string): Promise<void> {
  await waitFor(async () => {
    if (server.exitStatus() !== undefined) throw new Error(`${server.name} ${server.exitStatus()}`);
    return soa(port, zone);
  }, 15_000, { what: `${server.name} at 127.0.0.1:${port}` }).catch((err) => {
    throw new Error(`${(err as Error).message}\n${server.output()}`);
  });
}

/** The test zone: SOA, NS and the nameserver's address. */
export function zoneFile(zone: string): string {
  return [`$ORIGIN ${zone}.`, '$TTL 60', `@ IN SOA ns1.${zone}. hostmaster.${zone}. 1 60 10 3600 5`, `@ IN NS ns1.${zone}.`, 'ns1 IN A 127.0.0.1', ''].join('\n');
}

/** named.conf: the README's key and update-policy snippet, with the test's zone and keys. */
function namedConf(dir: string, zone: string, port: number, keys: TestKey[]): string {
  return `${keys.map((k) => `key "${k.name}" {\n  algorithm ${k.algorithm};\n  secret "${k.secret}";\n};\n`).join('')}
options {
  directory "${dir}";
  pid-file "${dir}/named.pid";
  session-keyfile "${dir}/session.key";
  managed-keys-directory "${dir}";
  listen-on port ${port} { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion no;
  dnssec-validation no;
  notify no;
  allow-transfer { none; };
};
controls { };
zone "${zone}" {
  type primary;
  file "${dir}/${zone}.zone";
  update-policy {
    grant nrcert-key name _acme-challenge.${zone}. TXT;
  };
};
`;
}

function resolver(port: number): dns.Resolver {
  const r = new dns.Resolver({ timeout: 1000, tries: 1 });
  r.setServers([`127.0.0.1:${port}`]);
  return r;
}

async function soa(port: number, zone: string): Promise<boolean> {
  try {
    await resolver(port).resolveSoa(zone);
    return true;
  } catch {
    return false;
  }
}

/** The TXT values 127.0.0.1:`port` answers at `name`, sorted (none on NXDOMAIN/NODATA). */
export async function txtAt(port: number, name: string): Promise<string[]> {
  try {
    return (await resolver(port).resolveTxt(name)).map((chunks) => chunks.join('')).sort();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTFOUND' || code === 'ENODATA') return [];
    throw err;
  }
}

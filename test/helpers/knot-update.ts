/**
 * A real Knot DNS (Debian `knot`) serving one zone on 127.0.0.1 at a port chosen at run time and
 * taking TSIG-signed updates under the README's Knot acl (TXT at `_acme-challenge` only): the
 * same UpdateServer as BIND's (bind.ts), so the RFC 2136 tests run against both.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { testKeys, txtAt, waitUntilServing, zoneFile, type TestKey, type UpdateServer } from './bind';
import { freePort } from './ports';
import { startServerProcess, type ServerProcess } from './process';
import { makeTempDir, removeTempDir } from './tmp';

/** Why Knot cannot run here, or undefined. */
export function knotUnavailable(): string | undefined {
  return spawnSync('sh', ['-c', 'command -v knotd']).status === 0 ? undefined : 'knotd is not installed (apt-get install knot)';
}

/** Starts knotd for `zone` and waits until it answers the zone's SOA. */
export async function startKnotUpdate(zone = 'example.test'): Promise<UpdateServer> {
  const dir = await makeTempDir('knot-update');
  let knotd: ServerProcess | undefined;
  const stop = async () => {
    await knotd?.stop();
    await removeTempDir(dir);
  };
  try {
    const port = await freePort({ udp: true });
    const { key, readonlyKey } = testKeys();
    await mkdir(join(dir, 'db'));
    await writeFile(join(dir, `${zone}.zone`), zoneFile(zone));
    await writeFile(join(dir, 'knot.conf'), knotConf(dir, zone, port, key, readonlyKey));
    knotd = startServerProcess('knotd', 'knotd', ['-c', join(dir, 'knot.conf')], process.env, dir);
    const server = knotd;
    await waitUntilServing(server, port, zone);
    return {
      kind: 'knot', zone, address: `127.0.0.1:${port}`, host: '127.0.0.1', port, key, readonlyKey,
      txt: (name) => txtAt(port, name), output: () => server.output(), stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** knot.conf: the README's key and acl snippet, with the test's zone and keys. */
function knotConf(dir: string, zone: string, port: number, key: TestKey, readonlyKey: TestKey): string {
  return `server:
  rundir: "${dir}"
  listen: 127.0.0.1@${port}
  pidfile: "${dir}/knot.pid"
database:
  storage: "${dir}/db"
log:
  - target: stderr
    any: info
${knotKeys([key, readonlyKey])}
acl:
${knotAcmeAcl(key)}
template:
  - id: default
    storage: "${dir}"
    zonefile-sync: -1
    journal-content: all
zone:
  - domain: ${zone}
    acl: nrcert-acme
`;
}

/** Knot's `key:` section for `keys` (the README's snippet). */
export function knotKeys(keys: TestKey[]): string {
  return ['key:', ...keys.map((k) => `  - id: ${k.name}\n    algorithm: ${k.algorithm}\n    secret: ${k.secret}`)].join('\n');
}

/** The README's acl entry: `key` may update TXT records at `_acme-challenge` names only (an item of `acl:`). */
export function knotAcmeAcl(key: TestKey): string {
  return `  - id: nrcert-acme
    key: ${key.name}
    action: update
    update-type: [TXT]
    update-owner: name
    update-owner-match: equal
    update-owner-name: [_acme-challenge]`;
}

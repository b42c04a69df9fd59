/**
 * The configuration files of the authoritative test zone (see knot.ts): the zone file, Knot's
 * primary and secondary, and Unbound as the machine's resolver.
 */

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestKey } from './bind';
import { knotAcmeAcl, knotKeys } from './knot-update';

/** A server as the configs need it: its host name in the zone and its address. */
export interface ZoneHost {
  host: string;
  address: string;
}

/**
 * Writes every file into `dir` (primary/ and secondary/ hold Knot's state); returns the resolv.conf
 * path. `extraZones` are served by the same two servers (their NS records name ns1/ns2 of `zone`).
 */
export async function writeConfigs(dir: string, zone: string, primary: ZoneHost, secondary: ZoneHost, resolver: string, extraZones: string[], key: TestKey): Promise<string> {
  const zones = [zone, ...extraZones];
  await mkdir(join(dir, 'primary'));
  await mkdir(join(dir, 'secondary'));
  await writeFile(join(dir, `${zone}.zone`), zoneFile(zone, primary, secondary));
  for (const extra of extraZones) await writeFile(join(dir, `${extra}.zone`), zoneFile(extra, primary, secondary, false));
  await writeFile(join(dir, 'primary.conf'), primaryConf(dir, zones, primary, secondary, key));
  await writeFile(join(dir, 'secondary.conf'), secondaryConf(dir, zones, primary, secondary));
  await writeFile(join(dir, 'unbound.conf'), unboundConf(dir, zones, primary, resolver));
  const resolvConf = join(dir, 'resolv.conf');
  await writeFile(resolvConf, `nameserver ${resolver}\noptions timeout:1 attempts:2\n`);
  return resolvConf;
}

/** The zone: SOA, the two NS records and (in the zone that holds them) their addresses. */
function zoneFile(zone: string, primary: ZoneHost, secondary: ZoneHost, addresses = true): string {
  // refresh 60 s, retry 10 s: a refused transfer is retried, but NOTIFY is what brings changes.
  return [
    `$ORIGIN ${zone}.`, '$TTL 60',
    `@ IN SOA ${primary.host}. hostmaster.${zone}. 1 60 10 3600 5`,
    `@ IN NS ${primary.host}.`, `@ IN NS ${secondary.host}.`,
    ...(addresses ? [`${primary.host}. IN A ${primary.address}`, `${secondary.host}. IN A ${secondary.address}`] : []), '',
  ].join('\n');
}

function serverSection(dir: string, name: string, listen: string): string {
  return [
    'server:', `  rundir: "${dir}/${name}"`, `  listen: ${listen}@53`, `  pidfile: "${dir}/${name}/knot.pid"`,
    'database:', `  storage: "${dir}/${name}"`,
    'log:', '  - target: stderr', '    any: info',
  ].join('\n');
}

/**
 * The primary: takes dynamic updates from loopback (the Cloudflare fake's publisher) and, signed
 * with `key`, TXT updates at `_acme-challenge` (the README's acl, for DNS_PROVIDER=rfc2136);
 * NOTIFYs the secondary, lets it transfer.
 */
function primaryConf(dir: string, zones: string[], primary: ZoneHost, secondary: ZoneHost, key: TestKey): string {
  return `${serverSection(dir, 'primary', primary.address)}
${knotKeys([key])}
remote:
  - id: secondary
    address: ${secondary.address}@53
    via: ${primary.address}
acl:
${knotAcmeAcl(key)}
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
${zones.map((zone) => `  - domain: ${zone}\n    notify: secondary\n    acl: [nrcert-acme, update, transfer]\n`).join('')}`;
}

/** The secondary: transfers from the primary, on NOTIFY from it. */
function secondaryConf(dir: string, zones: string[], primary: ZoneHost, secondary: ZoneHost): string {
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
${zones.map((zone) => `  - domain: ${zone}\n    master: primary\n    acl: notify\n`).join('')}`;
}

/**
 * Unbound as the machine's resolver: recursion for the zone through a stub to the primary, and
 * everything else refused locally (no root priming, no DNSSEC trust anchor to fetch), so it never
 * sends a query beyond loopback; the zone's names are not cached past their TTL.
 */
function unboundConf(dir: string, zones: string[], primary: ZoneHost, resolver: string): string {
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
${zones.map((zone) => `  local-zone: "${zone}." transparent\n`).join('')}${zones.map((zone) => `stub-zone:\n  name: "${zone}"\n  stub-addr: ${primary.address}\n`).join('')}remote-control:
  control-enable: no
`;
}

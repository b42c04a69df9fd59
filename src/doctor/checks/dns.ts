import { baseDomains, challengeRecordName } from '../../config/domains';
import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import type { Config } from '../../config/config';
import { describeError } from '../../errors';
import { nameserversFor, type Nameserver } from '../../dns/propagation';
import { findZone, systemResolveNs } from '../../dns/zone-cut';
import { codeOf, fail, ok, skip, type CheckResult } from '../types';

/** Seams for tests: how NS records are looked up, and how a zone's nameservers are found. */
export interface DnsCheckDeps {
  resolveNs?: (name: string) => Promise<string[]>;
  nameservers?: (zone: string, resolvers?: string[]) => Promise<Nameserver[]>;
  timeoutMs?: number;
}

const ID = 'dns';

/**
 * Check 3: the servers the propagation check will ask answer at all: each DNS_RESOLVERS entry,
 * or else every authoritative nameserver of the zone (found by walking up from the domain).
 * A query for `_acme-challenge.<domain>` TXT that comes back NXDOMAIN or empty still proves the
 * server answers; a timeout, a refusal or SERVFAIL does not.
 */
export async function checkDns(config: Config | undefined, deps: DnsCheckDeps = {}): Promise<CheckResult> {
  if (!config) return skip(ID, 'needs a valid configuration (see above)');
  const bases = baseDomains(config.domains);
  const lookup = deps.nameservers ?? nameserversFor;
  const timeoutMs = deps.timeoutMs ?? 3000;
  const resolvers = config.dns.resolvers;
  let servers: Nameserver[];
  let zone = '';
  try {
    if (!resolvers) zone = await findZone(bases[0], deps.resolveNs ?? systemResolveNs(timeoutMs));
    servers = await lookup(zone, resolvers);
  } catch (err) {
    return fail(ID, resolvers ? `cannot find the address of a DNS_RESOLVERS entry (${describeError(err)})` : describeError(err),
      resolvers ? 'fix DNS_RESOLVERS (host[:port], e.g. 1.1.1.1 or 127.0.0.1:8053)' : 'check this machine\'s DNS settings and network, or set DNS_RESOLVERS');
  }
  const answers = await Promise.all(servers.map(async (s) => ({ s, errors: (await Promise.all(bases.map((b) => query(s, challengeRecordName(b), timeoutMs)))).filter(Boolean) })));
  const silent = answers.filter((a) => a.errors.length > 0);
  const who = resolvers ? 'DNS_RESOLVERS' : `the nameservers of ${zone}`;
  if (silent.length > 0) {
    const list = silent.map((a) => `${a.s.label} (${a.errors.join(', ')})`).join(', ');
    return fail(ID, `${silent.length} of ${servers.length} servers (${who}) did not answer a query for ${challengeRecordName(bases[0])}: ${list}`,
      resolvers
        ? 'fix DNS_RESOLVERS: each must be a DNS server that answers for your zone, or leave it empty to ask the zone\'s own nameservers'
        : 'allow outbound DNS (UDP and TCP port 53) from this machine to the zone\'s nameservers, or set DNS_RESOLVERS');
  }
  const n = servers.length;
  return ok(ID, `${n === 1 ? '1 server' : `${n} servers`} (${who}) answer${n === 1 ? 's' : ''} DNS queries: ${servers.map((s) => s.label).join(', ')}`);
}

/** Asks one server for a TXT record; null when it answered (NXDOMAIN and NODATA count), else the error code. */
async function query(server: Nameserver, fqdn: string, timeoutMs: number): Promise<string | null> {
  const resolver = new dns.Resolver({ timeout: timeoutMs, tries: 1 });
  resolver.setServers([isIP(server.address) === 6 ? `[${server.address}]:${server.port}` : `${server.address}:${server.port}`]);
  try {
    await resolver.resolveTxt(fqdn);
    return null;
  } catch (err) {
    const code = codeOf(err);
    return code === 'ENOTFOUND' || code === 'ENODATA' ? null : code;
  }
}

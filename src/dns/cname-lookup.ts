/**
 * The DNS side of CNAME delegation (dns/delegation.ts): asks for the CNAME at one name where the
 * truth is, exactly DNS_RESOLVERS when set (as the propagation check does), otherwise the
 * authoritative nameservers of the zone holding the name, found through the machine's resolver.
 * One hop per call; a CNAME query is not chased by the server (RFC 1034 §3.6.2).
 */
import { describeError } from '../errors';
import type { CnameAnswer, CnameLookup } from './delegation';
import { nameserversFor, resolverFor, type Nameserver } from './propagation';
import { findZone, systemResolveNs, type ResolveNs } from './zone-cut';

/** Where to ask; the seams are for tests. */
export interface CnameLookupOptions {
  /** DNS_RESOLVERS: asked instead of the authoritative nameservers. */
  resolvers?: string[];
  /** How NS records are looked up to find the zone (the system's resolver unless told). */
  resolveNs?: ResolveNs;
  /** How a zone's nameservers are found (dns/propagation.ts unless told). */
  nameservers?: (zone: string, resolvers?: string[]) => Promise<Nameserver[]>;
}

/** A CnameLookup over the real DNS. */
export function dnsCnameLookup(opts: CnameLookupOptions = {}): CnameLookup {
  const resolveNs = opts.resolveNs ?? systemResolveNs(2000);
  const nameservers = opts.nameservers ?? nameserversFor;
  return async (name) => {
    let zone: string | undefined;
    let servers: Nameserver[];
    try {
      if (!opts.resolvers?.length) zone = await findZone(parentOf(name), resolveNs);
      servers = await nameservers(zone ?? '', opts.resolvers);
    } catch (err) {
      return { kind: 'failed', error: describeError(err).split('\n')[0] };
    }
    return askServers(name, servers, zone);
  };
}

/**
 * The name's parent, where the zone search starts: a CNAME cannot sit at a zone apex (RFC 1034
 * §3.6.2), and an NS query for the name itself would be chased through its CNAME by the resolver.
 */
function parentOf(name: string): string {
  const labels = name.split('.');
  return labels.length > 2 ? labels.slice(1).join('.') : name;
}

/** Asks the servers in turn; the first that answers decides (NXDOMAIN and NODATA: no CNAME). */
async function askServers(name: string, servers: Nameserver[], zone: string | undefined): Promise<CnameAnswer> {
  const errors: string[] = [];
  for (const server of servers) {
    try {
      const targets = await resolverFor(server).resolveCname(name);
      return targets.length ? { kind: 'cname', target: targets[0] } : { kind: 'none', zone };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENODATA' || code === 'ENOTFOUND') return { kind: 'none', zone };
      errors.push(`${server.label}: ${code ?? (err as Error).message}`);
    }
  }
  const where = zone ? `the nameservers of ${zone}` : 'DNS_RESOLVERS';
  return { kind: 'failed', error: `no server (${where}) answered a CNAME query for ${name} (${errors.join(', ') || 'none to ask'})` };
}

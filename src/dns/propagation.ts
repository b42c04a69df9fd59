import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import type { Logger } from '../log';
import { PropagationError } from '../errors';
import { pollUntil } from '../util/poll';
import { NO_PROGRESS, type Progress } from '../util/progress';

/** How to check propagation: which servers, how long, and how to stop early. */
export interface PropagationOptions {
  timeoutMs: number;
  logger: Logger;
  signal?: AbortSignal;
  progress?: Progress;
}

/** A server to ask: an IP address and port. */
export interface Nameserver {
  address: string;
  port: number;
  label: string;
  /** The host name it was found under (an NS target or a DNS_RESOLVERS host); absent for an IP given as such. */
  host?: string;
}

/**
 * The servers that must answer the TXT value before the ACME server is told to look: exactly
 * DNS_RESOLVERS when set (e.g. a test DNS server, which is not authoritative), otherwise every
 * authoritative nameserver of the zone, asked directly so no resolver cache can lie to us.
 */
export async function nameserversFor(zone: string, resolvers?: string[]): Promise<Nameserver[]> {
  if (resolvers?.length) return (await Promise.all(resolvers.map(resolveHostPort))).flat();
  let hosts: string[];
  try {
    hosts = await dns.resolveNs(zone);
  } catch (err) {
    throw new PropagationError(
      `cannot find the nameservers of ${zone} (${(err as NodeJS.ErrnoException).code}); check the machine's DNS, or set DNS_RESOLVERS`,
      { cause: err },
    );
  }
  // Resolvers rotate NS records; sorted, the same servers read the same in every message.
  const servers = await Promise.all([...hosts].sort().map((h) => resolveHostPort(h).catch(() => [])));
  if (servers.flat().length === 0) throw new PropagationError(`none of the nameservers of ${zone} (${hosts.join(', ')}) resolves to an address; set DNS_RESOLVERS`);
  return servers.flat();
}

async function resolveHostPort(spec: string): Promise<Nameserver[]> {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(spec) ?? /^([^:]+)(?::(\d+))?$/.exec(spec) ?? [spec, spec, undefined];
  const host = m[1];
  const port = m[2] ? Number(m[2]) : 53;
  if (isIP(host)) return [{ address: host, port, label: spec }];
  const addresses = await dns.lookup(host, { all: true });
  return addresses.map((a) => ({ address: a.address, port, label: `${host} (${a.address})`, host }));
}

/** What one nameserver answered: the TXT values it has, or why it could not say. */
interface TxtAnswer {
  values: string[];
  error?: string;
}

/** c-ares codes for "no answer came back" (as opposed to an answer without the value). */
const UNREACHABLE = new Set(['ETIMEOUT', 'ECONNREFUSED', 'ECONNRESET', 'ENETUNREACH', 'EHOSTUNREACH']);

/** A resolver that asks exactly `server`, once, for two seconds at most. */
export function resolverFor(server: Nameserver): dns.Resolver {
  const resolver = new dns.Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers([isIP(server.address) === 6 ? `[${server.address}]:${server.port}` : `${server.address}:${server.port}`]);
  return resolver;
}

async function queryTxt(server: Nameserver, fqdn: string): Promise<TxtAnswer> {
  const resolver = resolverFor(server);
  try {
    return { values: (await resolver.resolveTxt(fqdn)).map((chunks) => chunks.join('')) };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { values: [], error: code === 'ENOTFOUND' || code === 'ENODATA' ? undefined : code };
  }
}

/**
 * Waits until every nameserver answers every expected value at `fqdn`, asking at once and then at
 * short growing intervals (pollUntil). Throws PropagationError naming the servers still missing
 * a value at the timeout.
 */
export async function waitForTxt(fqdn: string, values: string[], servers: Nameserver[], opts: PropagationOptions): Promise<void> {
  const progress = opts.progress ?? NO_PROGRESS;
  const labels = (missing: Missing[]) => missing.map((m) => `${m.server.label}${m.error ? ` (${m.error})` : ''}`);
  let last = { missing: [] as Missing[], unreachable: [] as Missing[] };
  const look = async () => {
    last = judge(servers, await Promise.all(servers.map((s) => queryTxt(s, fqdn))), values);
    return last.missing.length ? last.missing : undefined;
  };
  let result;
  try {
    result = await pollUntil(look, {
      timeoutMs: opts.timeoutMs,
      signal: opts.signal,
      onWait: (missing, elapsedMs, attempt) => {
        opts.logger.debug({ fqdn, attempt, waiting: labels(missing) }, 'TXT record not visible yet');
        progress.update(`waiting for ${fqdn} at ${missing.length} of ${servers.length} nameserver(s)  ${Math.round(elapsedMs / 1000)} s / ${Math.round(opts.timeoutMs / 1000)} s`);
      },
    });
  } finally {
    progress.done();
  }
  if (result.pending) {
    const complete = servers.length - result.pending.length - last.unreachable.length;
    const lagging = complete > 0 && result.pending.every((m) => !m.error)
      ? ` (the other nameservers have it: the zone update has not reached ${result.pending.length === 1 ? 'this one' : 'these'}; a secondary's zone transfer is late or blocked)`
      : '';
    const cname = await cnameAt(result.pending.find((m) => !m.error)?.server, fqdn);
    const advice = cname
      ? `there ${fqdn} is a CNAME to ${cname}, and a CNAME hides every other record at its name: remove the CNAME, or publish the record at ${cname}`
      : 'check the record at your DNS host, or raise DNS_PROPAGATION_TIMEOUT';
    throw new PropagationError(
      `the TXT record ${fqdn} was not visible at ${labels(result.pending).join(', ')} after ${Math.round(result.elapsedMs / 1000)} s${lagging}; ${advice}`,
    );
  }
  if (last.unreachable.length) opts.logger.warn({ fqdn, unreachable: labels(last.unreachable) }, 'a nameserver address did not answer; its other addresses did');
  opts.logger.info({ fqdn, attempt: result.attempts, ms: result.elapsedMs }, 'TXT record visible at every nameserver');
}

/** The CNAME target `server` answers for `fqdn`, if any (asked once, when the wait has failed). */
async function cnameAt(server: Nameserver | undefined, fqdn: string): Promise<string | undefined> {
  if (!server) return undefined;
  const resolver = resolverFor(server);
  return resolver.resolveCname(fqdn).then((targets) => targets[0], () => undefined);
}

/** A server that does not (yet) answer every value, and the error when it did not answer at all. */
interface Missing {
  server: Nameserver;
  error?: string;
}

/**
 * Which servers still lack a value. Addresses of one host (an NS name with A and AAAA records)
 * are one nameserver: an address that gives no answer at all (no IPv6 route from a Pi, a
 * firewalled path) is set aside when another address of the same host answered, otherwise the
 * wait could never end; every address that does answer must have every value. A host none of
 * whose addresses answers is missing.
 */
function judge(servers: Nameserver[], answers: TxtAnswer[], values: string[]): { missing: Missing[]; unreachable: Missing[] } {
  const rows = servers.map((server, i) => ({ server, error: answers[i].error, complete: values.every((v) => answers[i].values.includes(v)) }));
  const answered = (host: string | undefined) => rows.some((r) => r.server.host === host && !UNREACHABLE.has(r.error ?? ''));
  const setAside = rows.filter((r) => r.server.host !== undefined && UNREACHABLE.has(r.error ?? '') && answered(r.server.host));
  const missing = rows.filter((r) => !r.complete && !setAside.includes(r));
  return { missing: missing.map(({ server, error }) => ({ server, error })), unreachable: setAside.map(({ server, error }) => ({ server, error })) };
}

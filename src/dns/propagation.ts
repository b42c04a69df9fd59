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
  const servers = await Promise.all(hosts.map((h) => resolveHostPort(h).catch(() => [])));
  if (servers.flat().length === 0) throw new PropagationError(`none of the nameservers of ${zone} (${hosts.join(', ')}) resolves to an address; set DNS_RESOLVERS`);
  return servers.flat();
}

async function resolveHostPort(spec: string): Promise<Nameserver[]> {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(spec) ?? /^([^:]+)(?::(\d+))?$/.exec(spec) ?? [spec, spec, undefined];
  const host = m[1];
  const port = m[2] ? Number(m[2]) : 53;
  if (isIP(host)) return [{ address: host, port, label: spec }];
  const addresses = await dns.lookup(host, { all: true });
  return addresses.map((a) => ({ address: a.address, port, label: `${host} (${a.address})` }));
}

/** What one nameserver answered: the TXT values it has, or why it could not say. */
async function queryTxt(server: Nameserver, fqdn: string): Promise<{ values: string[]; error?: string }> {
  const resolver = new dns.Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers([isIP(server.address) === 6 ? `[${server.address}]:${server.port}` : `${server.address}:${server.port}`]);
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
  const labels = (missing: Array<{ server: Nameserver; error?: string }>) => missing.map((m) => `${m.server.label}${m.error ? ` (${m.error})` : ''}`);
  const look = async () => {
    const answers = await Promise.all(servers.map((s) => queryTxt(s, fqdn)));
    const missing = servers
      .map((server, i) => ({ server, error: answers[i].error, complete: values.every((v) => answers[i].values.includes(v)) }))
      .filter((m) => !m.complete);
    return missing.length ? missing : undefined;
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
    throw new PropagationError(
      `the TXT record ${fqdn} was not visible at ${labels(result.pending).join(', ')} after ${Math.round(result.elapsedMs / 1000)} s; ` +
        'check the record in the Cloudflare dashboard, or raise DNS_PROPAGATION_TIMEOUT',
    );
  }
  opts.logger.info({ fqdn, attempt: result.attempts, ms: result.elapsedMs }, 'TXT record visible at every nameserver');
}

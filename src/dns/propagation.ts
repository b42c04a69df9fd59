import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import type { Logger } from '../log';
import { PropagationError } from '../errors';
import { sleep } from '../util/sleep';
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
 * Waits until every nameserver answers every expected value at `fqdn`. Asks at once, then at
 * short growing intervals (250 ms up to 2 s), so a fast provider costs one round trip, not a
 * fixed sleep. Throws PropagationError naming the servers still missing a value at the timeout.
 */
export async function waitForTxt(fqdn: string, values: string[], servers: Nameserver[], opts: PropagationOptions): Promise<void> {
  const progress = opts.progress ?? NO_PROGRESS;
  try {
    await pollTxt(fqdn, values, servers, opts, progress);
  } finally {
    progress.done();
  }
}

async function pollTxt(fqdn: string, values: string[], servers: Nameserver[], opts: PropagationOptions, progress: Progress): Promise<void> {
  const started = Date.now();
  let interval = 250;
  for (let attempt = 1; ; attempt++) {
    const answers = await Promise.all(servers.map((s) => queryTxt(s, fqdn)));
    const missing = servers
      .map((s, i) => ({ server: s, answer: answers[i] }))
      .filter(({ answer }) => !values.every((v) => answer.values.includes(v)));
    if (missing.length === 0) {
      progress.done();
      opts.logger.info({ fqdn, attempt, ms: Date.now() - started }, 'TXT record visible at every nameserver');
      return;
    }
    const elapsed = Date.now() - started;
    if (elapsed >= opts.timeoutMs) {
      const who = missing.map(({ server, answer }) => `${server.label}${answer.error ? ` (${answer.error})` : ''}`).join(', ');
      throw new PropagationError(
        `the TXT record ${fqdn} was not visible at ${who} after ${Math.round(elapsed / 1000)} s; ` +
          'check the record in the Cloudflare dashboard, or raise DNS_PROPAGATION_TIMEOUT',
      );
    }
    opts.logger.debug({ fqdn, attempt, waiting: missing.map((m) => m.server.label) }, 'TXT record not visible yet');
    progress.update(`waiting for ${fqdn} at ${missing.length} of ${servers.length} nameserver(s)  ${Math.round(elapsed / 1000)} s / ${Math.round(opts.timeoutMs / 1000)} s`);
    await sleep(Math.min(interval, Math.max(0, opts.timeoutMs - elapsed)), opts.signal);
    interval = Math.min(2000, Math.round(interval * 1.5));
  }
}

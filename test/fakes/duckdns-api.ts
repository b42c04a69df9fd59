/**
 * A loopback fake of DuckDNS's update endpoint (https://www.duckdns.org/spec.jsp), driven in
 * tests by nrcert's DuckDNS provider (point DUCKDNS_BASE_URL at `fake.baseURL`):
 * `GET /update?domains=<sub>[,<sub>…]&token=<token>&txt=<value>[&clear=true][&verbose=true]`.
 * It answers a plain `OK` or `KO` as DuckDNS does: `KO` for a wrong token or a domain that is not
 * the account's. It keeps ONE TXT value per domain, a new `txt` replacing the old and `clear=true`
 * removing it, and publishes that value into pebble-challtestsrv at `<sub>.duckdns.org` and
 * `_acme-challenge.<sub>.duckdns.org` (DuckDNS serves it at every name below the domain;
 * challtestsrv has no wildcards, so the two names nrcert and Pebble ask), so Pebble really
 * resolves it. `verbose=true` adds the value and UPDATED/NOCHANGE lines. A request without `txt`
 * is an IP update: answered OK, recorded, no TXT change.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ChalltestsrvPublisher, type TxtPublisher } from './challtestsrv-publisher';

/** Options of startDuckDnsFake. */
export interface DuckDnsFakeOptions {
  /** The account's token. */
  token: string;
  /** The account's domains, as sub-names (`home` for home.duckdns.org). */
  domains: string[];
  /** challtestsrv management base URL; when set, TXT values are published there. */
  challtestsrvManagementUrl?: string;
  /** Publishes elsewhere instead; wins over challtestsrvManagementUrl. */
  publisher?: TxtPublisher;
  /** How long after the OK a change reaches the DNS server (DuckDNS's own lag); 0 by default. */
  publishDelayMs?: number;
}

/** One request the fake received; the token itself is never kept. */
export interface DuckDnsUpdate {
  kind: 'txt' | 'ip';
  domains: string[];
  txt?: string;
  clear: boolean;
  verbose: boolean;
  /** Whether the token given was the account's. */
  tokenOk: boolean;
  /** What the fake answered: OK, KO, or the HTTP status of an injected failure (0: no answer). */
  answer: 'OK' | 'KO' | number;
  /** When it arrived (ms since the epoch, as pino's `time`). */
  at: number;
}

/** A running fake. */
export interface DuckDnsFake {
  /** e.g. http://127.0.0.1:PORT (the provider appends /update). */
  baseURL: string;
  /** Every request, oldest first. */
  updates: DuckDnsUpdate[];
  /** The TXT value `sub` holds now. */
  txt(sub: string): string | undefined;
  /** Answers the next `times` requests with HTTP `status` (0: never answer, until stop()). */
  failNext(status: number, times?: number): void;
  /** Resolves once every change answered so far is served by the DNS server. */
  published(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the fake on 127.0.0.1 with a port chosen by the OS. */
export async function startDuckDnsFake(opts: DuckDnsFakeOptions): Promise<DuckDnsFake> {
  const values = new Map<string, string>();
  const updates: DuckDnsUpdate[] = [];
  const failures: number[] = [];
  const publisher = opts.publisher ?? (opts.challtestsrvManagementUrl ? new ChalltestsrvPublisher(opts.challtestsrvManagementUrl.replace(/\/$/, '')) : undefined);
  let publishing: Promise<unknown> = Promise.resolve();
  const publish = (sub: string, value: string | undefined) => {
    const names = [`${sub}.duckdns.org`, `_acme-challenge.${sub}.duckdns.org`];
    const next = publishing.then(async () => {
      if (opts.publishDelayMs) await new Promise((r) => setTimeout(r, opts.publishDelayMs));
      for (const name of names) await publisher?.replace(name, value === undefined ? [] : [value]);
    });
    publishing = next.catch(() => undefined);
    return next;
  };

  const answer = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const q = url.searchParams;
    const domains = (q.get('domains') ?? '').split(',').map((d) => d.trim().toLowerCase().replace(/\.duckdns\.org$/, '')).filter(Boolean);
    const update: DuckDnsUpdate = {
      kind: q.has('txt') ? 'txt' : 'ip', domains, txt: q.get('txt') ?? undefined, clear: q.get('clear') === 'true',
      verbose: q.get('verbose') === 'true', tokenOk: q.get('token') === opts.token, answer: 0, at: Date.now(),
    };
    updates.push(update);
    const failure = failures.shift();
    if (failure === 0) return; // never answered; stop() closes it
    const reply = (status: number, body: string) => {
      res.writeHead(status, { 'content-type': 'text/plain;charset=UTF-8', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (failure !== undefined) return ((update.answer = failure), reply(failure, '<html><body>Service Unavailable</body></html>'));
    if (url.pathname !== '/update') return reply(404, 'Not Found');
    if (!update.tokenOk || domains.length === 0 || domains.some((d) => !opts.domains.includes(d))) return ((update.answer = 'KO'), reply(200, 'KO'));
    update.answer = 'OK';
    if (update.kind === 'ip') return reply(200, 'OK');
    const changed = domains.filter((d) => values.get(d) !== (update.clear ? undefined : update.txt));
    for (const d of changed) {
      if (update.clear) values.delete(d);
      else values.set(d, update.txt!);
      publish(d, values.get(d)).catch((err: Error) => console.error(`duckdns fake: publishing ${d} failed: ${err.message}`));
    }
    reply(200, update.verbose ? `OK\n${update.clear ? '' : update.txt}\n${changed.length ? 'UPDATED' : 'NOCHANGE'}` : 'OK');
  };

  const server: Server = createServer((req, res) => answer(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}`,
    updates,
    txt: (sub) => values.get(sub),
    failNext: (status, times = 1) => failures.push(...Array<number>(times).fill(status)),
    published: () => publishing.then(() => undefined),
    stop: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

/**
 * A loopback fake of the Cloudflare v4 REST API, driven in tests by the real `cloudflare` SDK
 * (point its `baseURL`, or CLOUDFLARE_BASE_URL, at `fake.baseURL`). It speaks the v4 envelope with
 * Cloudflare's status and error codes, honours page/per_page, and publishes the TXT records it
 * holds into pebble-challtestsrv so Pebble really validates DNS-01 challenges against them.
 *
 * Error answers (observed from the real API in public bug reports):
 * - verify with an unknown token: 401, 1000 "Invalid API Token";
 * - any other endpoint without a usable token, or a token lacking the zone / DNS edit right:
 *   403, 10000 "Authentication error";
 * - an unknown zone id or a malformed record id: 400, 7003 "Could not route to …" + 7000;
 * - an unknown record id: 404, 81044 "Record does not exist.";
 * - an identical record (type, name, content): 400, 81058 "An identical record already exists.".
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ChalltestsrvPublisher, type TxtPublisher } from './challtestsrv-publisher';
import { CfHttpError, failure, type FakeReply } from './cloudflare-envelope';
import { type FakeDnsRecord, hexId } from './cloudflare-records';
import { route, type FakeState, type TokenState } from './cloudflare-routes';

/** One zone of the fake account; `id` defaults to a random 32-hex id. */
export interface FakeZoneOption {
  name: string;
  id?: string;
}

/** What a token may do: zones (names or ids; default 'all'), DNS edit (default true), status. */
export interface FakeTokenOption {
  zones?: 'all' | string[];
  dnsEdit?: boolean;
  status?: 'active' | 'disabled' | 'expired';
}

/** Options of startCloudflareFake. */
export interface CloudflareFakeOptions {
  zones: FakeZoneOption[];
  /** Token secret → its rights. */
  tokens: Record<string, FakeTokenOption>;
  /** challtestsrv management base URL; when set, TXT records are published there. */
  challtestsrvManagementUrl?: string;
  /** Publishes TXT records elsewhere instead (e.g. a real primary by dynamic update); wins over challtestsrvManagementUrl. */
  publisher?: TxtPublisher;
  /** false: drop every record's comment, as a DNS host that does not keep comments would (default true). */
  keepComments?: boolean;
}

/** One request the fake received; the Authorization header is never kept. */
export interface FakeRequest {
  method: string;
  /** Full path without the query, e.g. /client/v4/zones/ID/dns_records */
  path: string;
  query: Record<string, string>;
  /** Parsed JSON body of POST/PUT/PATCH requests. */
  body?: unknown;
  /** Status the fake answered with (0 while the request is in flight). */
  status: number;
}

/** Which requests an injected failure applies to; an empty match applies to all. */
export interface FailureMatch {
  method?: string;
  pathIncludes?: string;
}

/** The answer of an injected failure. */
export interface InjectedFailure {
  status: number;
  code: number;
  message: string;
  /** Seconds, sent as the Retry-After header. */
  retryAfter?: number;
  /**
   * Carry the request out first (e.g. create the record), then answer this error whatever its
   * own outcome: a write that happened although the client was told it failed.
   */
  applyFirst?: boolean;
}

/** A running fake. */
export interface CloudflareFake {
  /** e.g. http://127.0.0.1:PORT/client/v4 */
  baseURL: string;
  /** The zones with their ids. */
  zones: ReadonlyArray<{ name: string; id: string }>;
  /** Every request received, oldest first. */
  requests: FakeRequest[];
  /** Copies of all current DNS records, oldest first. */
  records(): FakeDnsRecord[];
  /** Answers the next `times` matching requests with the given error, after letting `skip` of them through. */
  failNext(match: FailureMatch, response: InjectedFailure, times?: number, skip?: number): void;
  /** Answers every matching request with the given error until clearFailures(). */
  failAlways(match: FailureMatch, response: InjectedFailure): void;
  clearFailures(): void;
  /** Closes the server and all its connections. */
  stop(): Promise<void>;
}

interface FailureRule {
  match: FailureMatch;
  response: InjectedFailure;
  remaining: number;
  /** Matching requests still to let through before this rule applies. */
  skip: number;
}

const API_PREFIX = '/client/v4';

function tokenStates(tokens: CloudflareFakeOptions['tokens']): Map<string, TokenState> {
  const out = new Map<string, TokenState>();
  for (const [secret, t] of Object.entries(tokens)) {
    out.set(secret, { id: hexId(), zones: t.zones ?? 'all', dnsEdit: t.dnsEdit ?? true, status: t.status ?? 'active' });
  }
  return out;
}

function bearerToken(req: IncomingMessage): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return match?.[1];
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new CfHttpError(400, [{ code: 6007, message: 'Malformed JSON in request body' }]);
  }
}

function takeFailure(rules: FailureRule[], method: string, path: string): InjectedFailure | undefined {
  const rule = rules.find(
    (r) =>
      r.remaining > 0 &&
      (r.match.method === undefined || r.match.method.toUpperCase() === method) &&
      (r.match.pathIncludes === undefined || path.includes(r.match.pathIncludes)),
  );
  if (!rule) return undefined;
  if (rule.skip > 0) {
    rule.skip -= 1;
    return undefined;
  }
  rule.remaining -= 1;
  return rule.response;
}

function injected(f: InjectedFailure): FakeReply {
  const headers: Record<string, string> =
    f.retryAfter === undefined ? {} : { 'retry-after': String(f.retryAfter) };
  return failure(new CfHttpError(f.status, [{ code: f.code, message: f.message }], headers));
}

function send(res: ServerResponse, reply: FakeReply): void {
  const body = JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    ...reply.headers,
  });
  res.end(body);
}

/** Answers one request: log it, apply injected failures, then route it. */
async function handle(state: FakeState, rules: FailureRule[], log: FakeRequest[],
  req: IncomingMessage): Promise<FakeReply> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const method = (req.method ?? 'GET').toUpperCase();
  const entry: FakeRequest = { method, path: url.pathname, query: Object.fromEntries(url.searchParams), status: 0 };
  log.push(entry);
  let reply: FakeReply;
  try {
    const body = method === 'GET' || method === 'DELETE' ? undefined : await readJson(req);
    if (body !== undefined) entry.body = body;
    const fault = takeFailure(rules, method, url.pathname);
    if (fault && !fault.applyFirst) {
      reply = injected(fault);
    } else if (!url.pathname.startsWith(`${API_PREFIX}/`)) {
      throw new CfHttpError(400, [{ code: 7000, message: 'No route for that URI' }]);
    } else {
      const token = state.tokens.get(bearerToken(req) ?? '');
      const segments = url.pathname.slice(API_PREFIX.length + 1).split('/').map(decodeURIComponent);
      const routed = route(state, { method, pathname: url.pathname, segments, query: entry.query, body, token });
      reply = fault ? await routed.then(() => injected(fault), () => injected(fault)) : await routed;
    }
  } catch (err) {
    reply = err instanceof CfHttpError ? failure(err) : failure(new CfHttpError(500, [
      { code: 10001, message: `fake: ${err instanceof Error ? err.message : String(err)}` },
    ]));
  }
  entry.status = reply.status;
  return reply;
}

/** Starts the fake on 127.0.0.1 with a port chosen by the OS. */
export async function startCloudflareFake(opts: CloudflareFakeOptions): Promise<CloudflareFake> {
  const state: FakeState = {
    zones: opts.zones.map((z) => ({ name: z.name.toLowerCase().replace(/\.$/, ''), id: z.id ?? hexId() })),
    tokens: tokenStates(opts.tokens),
    records: new Map(),
    keepComments: opts.keepComments ?? true,
    publisher: opts.publisher ?? (opts.challtestsrvManagementUrl
      ? new ChalltestsrvPublisher(opts.challtestsrvManagementUrl.replace(/\/$/, ''))
      : undefined),
  };
  const rules: FailureRule[] = [];
  const requests: FakeRequest[] = [];
  const server: Server = createServer((req, res) => {
    handle(state, rules, requests, req).then((reply) => send(res, reply), (err) => {
      res.destroy(err instanceof Error ? err : new Error(String(err)));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}${API_PREFIX}`,
    zones: state.zones,
    requests,
    records: () => [...state.records.values()].map((r) => ({ ...r })),
    failNext: (match, response, times = 1, skip = 0) => rules.push({ match, response, remaining: times, skip }),
    failAlways: (match, response) => rules.push({ match, response, remaining: Infinity, skip: 0 }),
    clearFailures: () => rules.splice(0, rules.length),
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

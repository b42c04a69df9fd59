/**
 * A loopback HTTPS reverse proxy in front of Pebble that adds what Debian's Pebble 2.4 lacks:
 * ACME Renewal Information (RFC 9773) and certificate profiles (`meta.profiles`).
 *
 * Every request goes on to Pebble with its Host header unchanged. Pebble builds its URLs, and
 * checks each JWS `url`, from the request's Host, so every URL it hands out points back at the
 * proxy and signed requests verify. The directory is rewritten to add `renewalInfo` (served here,
 * with windows the test sets) and optionally `meta.profiles`. The decoded payload of every
 * newOrder is recorded so tests can check `replaces` and `profile`.
 *
 * It serves Pebble's own TLS certificate (which covers 127.0.0.1), so a client that trusts
 * Pebble through NODE_EXTRA_CA_CERTS=pebble.caCertPath trusts the proxy too.
 */
import { readFile } from 'node:fs/promises';
import { Agent, createServer, request, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { PebbleEnv } from '../helpers/pebble';

/** A suggested window as the test sets it. */
export interface FakeWindow {
  start: Date;
  end: Date;
}

/** A problem document the proxy answers instead of Pebble. */
export interface FakeProblem {
  status: number;
  type: string;
  detail: string;
}

/** A running proxy. */
export interface AriProxy {
  /** The directory through the proxy, e.g. https://127.0.0.1:PORT/dir */
  directoryUrl: string;
  /** Where renewal information is served: https://127.0.0.1:PORT/renewal-info */
  renewalInfoUrl: string;
  /** Sets the window answered for `certId`, or for any certificate ('*'); Retry-After in seconds (none sent when undefined). */
  setWindow(certId: string, window: FakeWindow, retryAfterSeconds?: number, explanationURL?: string): void;
  /** Makes the next `count` renewalInfo requests fail with `status`. */
  failRenewalInfo(status: number, count?: number): void;
  /** Sets (or with null removes) the profiles advertised in the directory's meta. */
  setProfiles(profiles: Record<string, string> | null): void;
  /** Advertises `renewalInfo` in the directory (default true). */
  advertiseRenewalInfo(on: boolean): void;
  /** Answers the next newOrder that carries `replaces` with this problem instead of forwarding it. */
  refuseNextReplaces(problem?: FakeProblem): void;
  /** The certIds asked for at renewalInfo, oldest first. */
  renewalInfoRequests: string[];
  /** The decoded JSON payload of every newOrder, oldest first (refused ones included, badNonce retries not). */
  newOrders: Array<Record<string, unknown>>;
  stop(): Promise<void>;
}

const ALREADY_REPLACED: FakeProblem = {
  status: 409,
  type: 'urn:ietf:params:acme:error:alreadyReplaced',
  detail: 'the certificate has already been replaced',
};

interface ProxyState {
  windows: Map<string, { window: FakeWindow; retryAfter?: number; explanationURL?: string }>;
  failures: Array<number>;
  profiles: Record<string, string> | null;
  renewalInfo: boolean;
  refuseReplaces: FakeProblem | null;
}

/** Starts the proxy in front of `pebble` on a run-time port of 127.0.0.1. */
export async function startAriProxy(pebble: PebbleEnv, opts: { profiles?: Record<string, string> } = {}): Promise<AriProxy> {
  const [cert, key] = await Promise.all([readFile(pebble.caCertPath), readFile(join(pebble.dir, 'pebble-tls-key.pem'))]);
  const upstream = new URL(pebble.directoryUrl);
  const agent = new Agent({ ca: cert, keepAlive: true });
  const newOrderPath = new URL((await getJson(pebble.directoryUrl, agent)).newOrder as string).pathname;
  const state: ProxyState = { windows: new Map(), failures: [], profiles: opts.profiles ?? null, renewalInfo: true, refuseReplaces: null };
  const proxy: Omit<AriProxy, 'directoryUrl' | 'renewalInfoUrl' | 'stop'> = {
    setWindow: (certId, window, retryAfter, explanationURL) => void state.windows.set(certId, { window, retryAfter, explanationURL }),
    failRenewalInfo: (status, count = 1) => state.failures.push(...Array<number>(count).fill(status)),
    setProfiles: (profiles) => void (state.profiles = profiles),
    advertiseRenewalInfo: (on) => void (state.renewalInfo = on),
    refuseNextReplaces: (problem = ALREADY_REPLACED) => void (state.refuseReplaces = problem),
    renewalInfoRequests: [],
    newOrders: [],
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req);
    const path = new URL(req.url ?? '/', 'https://proxy').pathname;
    if (req.method === 'GET' && path.startsWith('/renewal-info/')) return renewalInfo(path.slice('/renewal-info/'.length), res);
    if (req.method === 'POST' && path === newOrderPath) {
      const payload = jwsPayload(body);
      if (payload.replaces && state.refuseReplaces) {
        proxy.newOrders.push(payload);
        const problem = state.refuseReplaces;
        state.refuseReplaces = null;
        return send(res, problem.status, { type: problem.type, detail: problem.detail }, 'application/problem+json');
      }
      // Recorded unless Pebble refused the nonce (5 % of requests): the client sends that order again.
      return forward(req, body, res, undefined, (status, data) => {
        if (!(status === 400 && data.toString('utf8').includes('badNonce'))) proxy.newOrders.push(payload);
      });
    }
    const rewrite = req.method === 'GET' && path === upstream.pathname ? rewriteDirectory : undefined;
    await forward(req, body, res, rewrite);
  };

  const renewalInfo = (certId: string, res: ServerResponse): void => {
    proxy.renewalInfoRequests.push(certId);
    const failure = state.failures.shift();
    if (failure) return send(res, failure, { type: 'urn:ietf:params:acme:error:serverInternal', detail: 'injected failure' }, 'application/problem+json');
    const entry = state.windows.get(certId) ?? state.windows.get('*');
    if (!entry) return send(res, 404, { type: 'urn:ietf:params:acme:error:malformed', detail: 'unknown certificate' }, 'application/problem+json');
    const headers: Record<string, string> = entry.retryAfter === undefined ? {} : { 'retry-after': String(entry.retryAfter) };
    const answer = { suggestedWindow: { start: entry.window.start.toISOString(), end: entry.window.end.toISOString() }, explanationURL: entry.explanationURL };
    send(res, 200, answer, 'application/json', headers);
  };

  const rewriteDirectory = (json: Record<string, unknown>, host: string): Record<string, unknown> => {
    const out: Record<string, unknown> = { ...json, meta: { ...(json.meta as object | undefined) } };
    if (state.renewalInfo) out.renewalInfo = `https://${host}/renewal-info`;
    if (state.profiles) (out.meta as Record<string, unknown>).profiles = state.profiles;
    return out;
  };

  const forward = (
    req: IncomingMessage, body: Buffer, res: ServerResponse, rewrite?: typeof rewriteDirectory,
    onAnswer?: (status: number, data: Buffer) => void,
  ): Promise<void> =>
    new Promise((resolve) => {
      const headers = { ...req.headers };
      if (rewrite) delete headers['accept-encoding'];
      const out = request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers, agent }, (up) => {
        const chunks: Buffer[] = [];
        up.on('data', (c: Buffer) => chunks.push(c));
        up.on('end', () => {
          let data = Buffer.concat(chunks);
          const { 'transfer-encoding': _te, connection: _c, 'keep-alive': _ka, ...upHeaders } = up.headers;
          if (rewrite && up.statusCode === 200) {
            data = Buffer.from(JSON.stringify(rewrite(JSON.parse(data.toString('utf8')) as Record<string, unknown>, req.headers.host ?? '')));
          }
          onAnswer?.(up.statusCode ?? 502, data);
          if (req.method !== 'HEAD') upHeaders['content-length'] = String(data.length);
          res.writeHead(up.statusCode ?? 502, upHeaders);
          res.end(data);
          resolve();
        });
      });
      out.on('error', (err) => {
        send(res, 502, { type: 'urn:ietf:params:acme:error:serverInternal', detail: `proxy: ${err.message}` }, 'application/problem+json');
        resolve();
      });
      out.end(body);
    });

  const server: Server = createServer({ cert, key }, (req, res) => {
    handle(req, res).catch((err: Error) => send(res, 500, { detail: err.message }, 'application/json'));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    ...proxy,
    directoryUrl: `${base}${upstream.pathname}`,
    renewalInfoUrl: `${base}/renewal-info`,
    async stop() {
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The decoded JSON payload of a flattened JWS (RFC 8555 §6.2); {} when there is none. */
function jwsPayload(body: Buffer): Record<string, unknown> {
  try {
    const { payload } = JSON.parse(body.toString('utf8')) as { payload?: string };
    return payload ? (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function send(res: ServerResponse, status: number, body: unknown, type: string, headers: Record<string, string> = {}): void {
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': type, 'content-length': String(data.length), ...headers });
  res.end(data);
}

function getJson(url: string, agent: Agent): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    request(url, { agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>);
        } catch (err) {
          reject(err);
        }
      });
    }).on('error', reject).end();
  });
}

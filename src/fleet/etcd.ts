/**
 * A small etcd v3 client over etcd's own JSON gRPC gateway (etcd 3.4: POST /v3/kv/range, /v3/kv/txn,
 * /v3/lease/grant, /v3/lease/keepalive, /v3/lease/revoke, /v3/election/campaign|leader|resign,
 * /v3/lock/lock|unlock, /v3/watch as a stream of newline-separated JSON; keys and values base64,
 * 64-bit numbers as strings). Chosen over the `etcd3` npm client because it needs nothing but
 * node:https (no grpc-js to load or bundle) and every call is one outbound request.
 *
 * Endpoints are tried in turn, starting with the last one that answered, so one member down costs
 * one failed connection. Every request is bounded (`timeoutMs`) except the ones that wait on
 * purpose (campaign, lock, watch), which end with their signal.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { FleetConfig } from './config';
import { EtcdError } from './errors';

/** One key-value as etcd returns it, decoded. */
export interface KeyValue {
  key: string;
  value: string;
  modRevision: number;
  createRevision: number;
  lease?: string;
}

/** One comparison of a txn (etcd's Compare), keys in clear text. */
export type Compare =
  | { key: string; target: 'CREATE'; result: 'GREATER' | 'EQUAL'; createRevision: number }
  | { key: string; target: 'MOD'; result: 'EQUAL' | 'LESS'; modRevision: number };

/** One operation of a txn: a put (with an optional lease) or a delete. */
export type Op = { put: { key: string; value: string; lease?: string } } | { delete: { key: string; prefix?: boolean } };

type Json = Record<string, unknown>;

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString('utf8');

/** The first key after every key starting with `prefix` (etcd's range_end for a prefix). */
export function prefixEnd(prefix: string): string {
  const bytes = Buffer.from(prefix, 'utf8');
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i] < 0xff) {
      const end = Buffer.from(bytes.subarray(0, i + 1));
      end[i] += 1;
      return end.toString('utf8');
    }
  }
  return '\0';
}

/** An etcd cluster, through its JSON gateway. */
export class EtcdClient {
  #next = 0;
  #token?: string;

  constructor(private readonly config: Pick<FleetConfig, 'endpoints' | 'tls' | 'auth'>, private readonly timeoutMs = 5000) {}

  /** The key-values at `key`, or under it with `prefix`. */
  async range(key: string, opts: { prefix?: boolean } = {}): Promise<{ kvs: KeyValue[]; revision: number }> {
    const body: Json = { key: b64(key) };
    if (opts.prefix) body.range_end = b64(prefixEnd(key));
    const res = await this.call('/v3/kv/range', body);
    return { kvs: ((res.kvs as Json[] | undefined) ?? []).map(decodeKv), revision: Number((res.header as Json)?.revision ?? 0) };
  }

  /** One transaction: `success` when every compare holds, else `failure`; true when it succeeded. */
  async txn(compare: Compare[], success: Op[], failure: Op[] = []): Promise<boolean> {
    const res = await this.call('/v3/kv/txn', { compare: compare.map(encodeCompare), success: success.map(encodeOp), failure: failure.map(encodeOp) });
    return res.succeeded === true;
  }

  /** A new lease of `ttl` seconds; its id. */
  async grant(ttl: number): Promise<string> {
    return String((await this.call('/v3/lease/grant', { TTL: ttl })).ID);
  }

  /** Renews lease `id`; false when it has already expired (TTL 0). */
  async keepAlive(id: string): Promise<boolean> {
    const res = await this.call('/v3/lease/keepalive', { ID: id });
    const result = (res.result ?? res) as Json;
    return Number(result.TTL ?? 0) > 0;
  }

  /** Ends lease `id` and every key attached to it. */
  async revoke(id: string): Promise<void> {
    await this.call('/v3/lease/revoke', { ID: id });
  }

  /** Waits until this lease leads election `name` (etcd's Election service); the leader key. */
  async campaign(name: string, lease: string, value: string, signal: AbortSignal): Promise<string> {
    const res = await this.call('/v3/election/campaign', { name: b64(name), lease, value: b64(value) }, { signal, wait: true });
    return unb64((res.leader as Json).key as string);
  }

  /** The value the leader of election `name` campaigned with, or null when there is none. */
  async leader(name: string): Promise<string | null> {
    try {
      const res = await this.call('/v3/election/leader', { name: b64(name) });
      return res.kv ? unb64((res.kv as Json).value as string) : null;
    } catch (err) {
      if (err instanceof EtcdError && /no leader/i.test(err.detail)) return null;
      throw err;
    }
  }

  /** Waits for the lock `name` (etcd's Lock service) held with `lease`; the lock's key, proof of ownership. */
  async lock(name: string, lease: string, signal: AbortSignal): Promise<string> {
    const res = await this.call('/v3/lock/lock', { name: b64(name), lease }, { signal, wait: true });
    return unb64(res.key as string);
  }

  /** Releases the lock whose key `lock()` returned. */
  async unlock(key: string): Promise<void> {
    await this.call('/v3/lock/unlock', { key: b64(key) });
  }

  /**
   * Watches `key` (or everything under it) from revision `fromRevision` on, calling `onChange` with
   * the header revision of every batch of events, until `signal` ends or the stream breaks
   * (then it rejects and the caller reconnects from the last revision it saw).
   */
  async watch(key: string, opts: { prefix?: boolean; fromRevision?: number }, onChange: (revision: number) => void, signal: AbortSignal): Promise<void> {
    const create: Json = { key: b64(key) };
    if (opts.prefix) create.range_end = b64(prefixEnd(key));
    if (opts.fromRevision) create.start_revision = String(opts.fromRevision);
    await this.call('/v3/watch', { create_request: create }, {
      signal, wait: true,
      onMessage: (m) => {
        const r = m.result as Json | undefined;
        if (r && ((r.events as unknown[] | undefined)?.length ?? 0) > 0) onChange(Number((r.header as Json).revision));
      },
    });
  }

  /** One POST to the first endpoint that answers; the decoded JSON (the last message of a stream). */
  async call(path: string, body: Json, opts: { signal?: AbortSignal; wait?: boolean; onMessage?: (m: Json) => void } = {}): Promise<Json> {
    const errors: string[] = [];
    for (let i = 0; i < this.config.endpoints.length; i++) {
      const index = (this.#next + i) % this.config.endpoints.length;
      const endpoint = this.config.endpoints[index];
      try {
        const res = await this.#post(endpoint, path, body, opts);
        this.#next = index;
        return res;
      } catch (err) {
        if (opts.signal?.aborted) throw err;
        if (err instanceof EtcdError && err.status !== undefined && err.status !== 503 && !/unauth|token/i.test(err.detail)) throw err;
        if (err instanceof EtcdError && /token/i.test(err.detail)) this.#token = undefined;
        errors.push(`${endpoint}: ${(err as Error).message}`);
      }
    }
    throw new EtcdError(`no etcd endpoint answered ${path} (${errors.join('; ')})`, { detail: 'unreachable' });
  }

  async #post(endpoint: string, path: string, body: Json, opts: { signal?: AbortSignal; wait?: boolean; onMessage?: (m: Json) => void }): Promise<Json> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.config.auth && path !== '/v3/auth/authenticate') headers.authorization = await this.#authToken(endpoint);
    const payload = JSON.stringify(body);
    const url = new URL(path, endpoint);
    const tls = this.config.tls;
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<Json>((resolve, reject) => {
      const req = send(url, {
        method: 'POST', headers, signal: opts.signal,
        ...(url.protocol === 'https:' ? { ca: tls.ca, cert: tls.cert, key: tls.key?.reveal() } : {}),
      });
      const timer = opts.wait ? undefined : setTimeout(() => req.destroy(new Error(`no answer within ${this.timeoutMs / 1000} s`)), this.timeoutMs);
      req.on('error', (err) => { clearTimeout(timer); reject(err); });
      req.on('response', (res) => this.#read(res, opts.onMessage).then((r) => { clearTimeout(timer); resolve(r); }, (e) => { clearTimeout(timer); reject(e); }));
      req.end(payload);
    });
  }

  /** Reads a response: one JSON object, or newline-separated ones (a stream), each passed to onMessage. */
  #read(res: IncomingMessage, onMessage?: (m: Json) => void): Promise<Json> {
    return new Promise((resolve, reject) => {
      let buffer = '';
      let last: Json = {};
      const take = (line: string) => {
        if (!line.trim()) return;
        const message = JSON.parse(line) as Json;
        last = message;
        // Unary answers carry {error, code, message}; a stream's last message {error: {grpc_code, message}}.
        const error = typeof message.error === 'object' && message.error !== null ? message.error as Json
          : message.error !== undefined || (typeof message.code === 'number' && message.code !== 0) ? message : undefined;
        if (error) {
          const detail = String(error.message ?? error.error ?? '');
          const code = Number(error.code ?? error.grpc_code ?? 0);
          // Unavailable (14) and DeadlineExceeded (4): this member cannot serve now (no leader, lost quorum); try another.
          const status = code === 14 || code === 4 ? 503 : res.statusCode;
          throw new EtcdError(`etcd refused the request: ${detail || `gRPC code ${code}`}`, { status, detail });
        }
        onMessage?.(message);
      };
      res.setEncoding('utf8');
      if (!/json/i.test(String(res.headers['content-type'] ?? 'application/json'))) {
        // Not the gateway speaking (e.g. etcd 3.4 refusing a client certificate once its authentication is on).
        let text = '';
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => reject(new EtcdError(`etcd answered HTTP ${res.statusCode}: ${text.trim().slice(0, 200)}`, { status: res.statusCode, detail: text.trim().slice(0, 200) })));
        return;
      }
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let nl: number;
        try {
          while ((nl = buffer.indexOf('\n')) >= 0) { take(buffer.slice(0, nl)); buffer = buffer.slice(nl + 1); }
        } catch (err) { res.destroy(); reject(err); }
      });
      res.on('error', reject);
      res.on('aborted', () => reject(new Error('the connection to etcd broke')));
      res.on('end', () => {
        try {
          take(buffer);
          if ((res.statusCode ?? 500) >= 400) throw new EtcdError(`etcd answered HTTP ${res.statusCode}`, { status: res.statusCode, detail: '' });
          resolve(last);
        } catch (err) { reject(err); }
      });
    });
  }

  async #authToken(endpoint: string): Promise<string> {
    if (!this.#token) {
      const auth = this.config.auth!;
      let res: Json;
      try {
        res = await this.#post(endpoint, '/v3/auth/authenticate', { name: auth.user, password: auth.password.reveal() }, {});
      } catch (err) {
        if (!(err instanceof EtcdError) || !/authentication failed/i.test(err.detail)) throw err;
        throw new EtcdError(
          `etcd refused FLEET_ETCD_USER "${auth.user}" with the password in FLEET_ETCD_PASSWORD_FILE (authentication failed): check both, ` +
            'or the user with `etcdctl user get`', { status: 401, detail: 'authentication failed', cause: err });
      }
      this.#token = String(res.token);
    }
    return this.#token;
  }
}

function decodeKv(kv: Json): KeyValue {
  return {
    key: unb64(kv.key as string), value: unb64(kv.value as string),
    modRevision: Number(kv.mod_revision ?? 0), createRevision: Number(kv.create_revision ?? 0),
    lease: kv.lease ? String(kv.lease) : undefined,
  };
}

function encodeCompare(c: Compare): Json {
  return c.target === 'CREATE'
    ? { key: b64(c.key), target: 'CREATE', result: c.result, create_revision: String(c.createRevision) }
    : { key: b64(c.key), target: 'MOD', result: c.result, mod_revision: String(c.modRevision) };
}

function encodeOp(op: Op): Json {
  if ('put' in op) return { request_put: { key: b64(op.put.key), value: b64(op.put.value), ...(op.put.lease ? { lease: op.put.lease } : {}) } };
  return { request_delete_range: { key: b64(op.delete.key), ...(op.delete.prefix ? { range_end: b64(prefixEnd(op.delete.key)) } : {}) } };
}

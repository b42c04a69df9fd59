/**
 * A TSIG-signed conversation with one DNS server: the two messages the provider sends, encoded
 * with `dns-packet`, one TCP exchange per message, every request signed and every answer's
 * signature verified before anything in it is believed (RFC 8945 §5.3), every refusal turned
 * into an Rfc2136Error that says what to fix.
 *
 *   query:  QUESTION name IN SOA                         (which zone holds a name; proves the key)
 *   update: ZONE zone IN SOA, PREREQUISITE none, UPDATE
 *             add:    name TTL IN   TXT "value"          (RFC 2136 §2.5.1: adds one value)
 *             delete: name 0   NONE TXT "value"          (§2.5.4: deletes exactly that value)
 *
 * dns-packet knows neither the UPDATE sections by name nor class NONE, so the update section is
 * put together here; it compresses no names, so a record encoded on its own is laid out the same
 * inside the message, its class right after its name and type.
 */
import * as packet from 'dns-packet';
import { randomInt } from 'node:crypto';
import { connect } from 'node:net';
import { AbortedError } from '../../errors';
import { rcodeError, TransportError, transportFailure, tsigError, unverifiedError, type ExchangeContext } from './errors';
import { serverTime, signRequest, splitTsig, TsigVerifyError, verifyResponse, type TsigKey } from './tsig';

/** RFC 2136 §1: opcode 5 in the header's flags. */
const OPCODE_UPDATE = 5 << 11;
/** RFC 2136 §2.5.4: class NONE deletes one RR from an RRset. */
const CLASS_NONE = 254;

/** One change of an update: add or delete one TXT value at one name. */
export interface TxtChange {
  op: 'add' | 'delete';
  name: string;
  value: string;
  ttl?: number;
}

/** A fresh message id (RFC 5452: random, so a spoofed answer must guess it). */
export function messageId(): number {
  return randomInt(0, 0x10000);
}

/** A query for the SOA record of `name`, not asking for recursion. */
export function encodeSoaQuery(id: number, name: string): Buffer {
  return packet.encode({ id, type: 'query', flags: 0, questions: [{ name, type: 'SOA', class: 'IN' }] });
}

/** An UPDATE message for `zone` carrying `changes`, with no prerequisites. */
export function encodeUpdate(id: number, zone: string, changes: TxtChange[]): Buffer {
  const header = packet.encode({ id, type: 'query', flags: OPCODE_UPDATE, questions: [{ name: zone, type: 'SOA', class: 'IN' }] });
  const records = changes.map(encodeChange);
  const wire = Buffer.concat([header, ...records]);
  wire.writeUInt16BE(records.length, 8);
  return wire;
}

function encodeChange(change: TxtChange): Buffer {
  const rr = (packet as unknown as { answer: { encode(a: packet.Answer): Buffer } }).answer.encode({
    type: 'TXT',
    class: 'IN',
    name: change.name,
    ttl: change.op === 'add' ? change.ttl ?? 60 : 0,
    data: [Buffer.from(change.value)],
  });
  if (change.op === 'delete') rr.writeUInt16BE(CLASS_NONE, nameLength(rr) + 2);
  return rr;
}

/** The length of the uncompressed name at the start of `rr`. */
function nameLength(rr: Buffer): number {
  let o = 0;
  while (rr[o] !== 0) o += rr[o]! + 1;
  return o + 1;
}

/** What the provider reads from an answer. */
export interface Answer {
  id: number;
  rcode: string;
  authoritative: boolean;
  /** Owner names of the SOA records in the answer and authority sections. */
  soaOwners: { answer: string[]; authority: string[] };
}

/** Decodes an answer (its TSIG record already split off). */
export function decodeAnswer(wire: Buffer): Answer {
  const p = packet.decode(wire) as packet.DecodedPacket & { rcode?: string };
  const soa = (rrs: packet.Answer[] | undefined) => (rrs ?? []).filter((r) => r.type === 'SOA').map((r) => r.name.replace(/\.$/, '').toLowerCase());
  return {
    id: p.id ?? -1,
    rcode: p.rcode ?? 'NOERROR',
    authoritative: Boolean(p.flag_aa),
    soaOwners: { answer: soa(p.answers), authority: soa(p.authorities) },
  };
}

/** Where the DNS server listens. */
export interface ServerAddress {
  host: string;
  port: number;
}

/**
 * Sends `message` to `server` over TCP (RFC 1035 §4.2.2: behind a two-byte length), one
 * connection per message, and resolves with the answer's bytes. TCP rather than UDP: an update's
 * answer must not be lost or truncated. Bounded by `timeoutMs` from connect to answer, ended at
 * once by `signal`.
 */
export function exchange(server: ServerAddress, message: Buffer, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<Buffer> {
  if (opts.signal?.aborted) return Promise.reject(new AbortedError());
  return new Promise((resolve, reject) => {
    const socket = connect({ host: server.host, port: server.port });
    let received = Buffer.alloc(0);
    let connected = false;
    const finish = (err: Error | undefined, answer?: Buffer) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (err) reject(err);
      else resolve(answer!);
    };
    const onAbort = () => finish(new AbortedError());
    const timer = setTimeout(
      () => finish(new TransportError('timeout', `no answer within ${opts.timeoutMs / 1000} s`)),
      opts.timeoutMs,
    );
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      connected = true;
      const length = Buffer.alloc(2);
      length.writeUInt16BE(message.length);
      socket.write(Buffer.concat([length, message]));
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) {
        finish(undefined, received.subarray(2, 2 + received.readUInt16BE(0)));
      }
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      finish(new TransportError(connected ? 'closed' : 'connect', err.code ?? err.message, { cause: err }));
    });
    socket.once('close', () => finish(new TransportError('closed', 'the server closed the connection without an answer')));
  });
}

/** What the client needs: the server, the key, the per-request timeout, the run's signal. */
export interface Rfc2136ClientOptions {
  server: ServerAddress;
  key: TsigKey;
  /** RFC2136_TIMEOUT: how long one request may go unanswered. */
  timeoutMs: number;
  /** The run's signal: ends a query at once; an update runs to its answer, within timeoutMs. */
  signal?: AbortSignal;
  /** The clock the signature's time comes from (tests skew it); Date.now unless told. */
  now?: () => number;
}

/** Signed SOA queries and updates at one server. */
export class Rfc2136Client {
  constructor(private readonly options: Rfc2136ClientOptions) {}

  /** RFC2136_SERVER as the messages show it. */
  get serverLabel(): string {
    const { host, port } = this.options.server;
    return `${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  /**
   * The zone the server holds `name` in, from a signed SOA query: the SOA owner of the answer
   * (name is the apex) or of the authority section (NXDOMAIN/NODATA below the apex). Undefined
   * when the server answers without one or not authoritatively. The answer being signed proves
   * the key: BADKEY/BADSIG/BADTIME surface here, before any ACME order.
   */
  async zoneOf(name: string, action = `find the zone of ${name}`): Promise<string | undefined> {
    const answer = await this.send(encodeSoaQuery(messageId(), name), { action, name, kind: 'query' });
    if (answer.rcode !== 'NOERROR' && answer.rcode !== 'NXDOMAIN') throw rcodeError(this.context(action), answer.rcode, name, 'query');
    if (!answer.authoritative) return undefined;
    return answer.soaOwners.answer[0] ?? answer.soaOwners.authority[0];
  }

  /** Sends one UPDATE for `zone` with `changes`; anything but NOERROR is an Rfc2136Error. */
  async update(zone: string, changes: TxtChange[], action: string): Promise<void> {
    const answer = await this.send(encodeUpdate(messageId(), zone, changes), { action, zone, name: changes[0]?.name ?? zone, kind: 'update' });
    if (answer.rcode !== 'NOERROR') throw rcodeError(this.context(action, zone), answer.rcode, changes[0]?.name ?? zone);
  }

  private context(action: string, zone?: string): ExchangeContext {
    return { action, server: this.serverLabel, keyName: this.options.key.name, algorithm: this.options.key.algorithm, zone };
  }

  /** Signs, sends, and returns the verified answer; TSIG errors and untrusted answers throw. */
  private async send(message: Buffer, what: { action: string; zone?: string; name: string; kind: 'query' | 'update' }): Promise<Answer> {
    const ctx = this.context(what.action, what.zone);
    const now = this.options.now ?? Date.now;
    const request = signRequest(message, this.options.key, now());
    let wire: Buffer;
    try {
      // Queries end at once on the run's signal; an update runs to its answer (bounded by the
      // timeout), so an interrupted run still deletes what it added and knows what it changed.
      const signal = what.kind === 'query' ? this.options.signal : undefined;
      wire = await exchange(this.options.server, request.wire, { timeoutMs: this.options.timeoutMs, signal });
    } catch (err) {
      if (err instanceof TransportError) throw transportFailure(ctx, err);
      throw err;
    }
    if (what.kind === 'query' && this.options.signal?.aborted) throw new AbortedError();
    let answer: Answer;
    try {
      const split = splitTsig(wire);
      // BADSIG/BADKEY answers are unsigned by design (RFC 8945 §5.3.2); BADTIME ones are signed
      // with the server's clock. Either way nothing changed: report the error itself.
      if (split && split.tsig.error !== 0) {
        throw tsigError(ctx, split.tsig.error, decodeAnswer(split.message).rcode, serverTime(split.tsig), what.kind === 'update' ? { name: what.name } : undefined);
      }
      if (!split) {
        // A server that refuses before looking at TSIG (e.g. not authoritative) may not sign.
        const plain = decodeAnswer(wire);
        if (plain.rcode !== 'NOERROR' && plain.rcode !== 'NXDOMAIN') throw rcodeError(ctx, plain.rcode, what.name, what.kind);
      }
      answer = decodeAnswer(verifyResponse(wire, request, this.options.key, now()).message);
    } catch (err) {
      if (err instanceof TsigVerifyError) throw unverifiedError(ctx, err.message, err);
      if (err instanceof RangeError) throw unverifiedError(ctx, 'the answer is not a well-formed DNS message', err);
      throw err;
    }
    if (answer.id !== message.readUInt16BE(0)) throw unverifiedError(ctx, 'the answer is to another request', undefined);
    return answer;
  }
}

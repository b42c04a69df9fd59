/**
 * A TSIG-signed conversation with one DNS server: every request is signed, every answer's
 * signature verified before anything in it is believed (RFC 8945 §5.3), and every refusal
 * turned into an Rfc2136Error that says what to fix.
 */
import { AbortedError } from '../../errors';
import { rcodeError, transportFailure, tsigError, unverifiedError, type ExchangeContext } from './errors';
import { decodeAnswer, encodeSoaQuery, encodeUpdate, messageId, type Answer, type TxtChange } from './message';
import { exchange, TransportError, type ServerAddress } from './transport';
import { serverTime, signRequest, splitTsig, TsigVerifyError, verifyResponse, type TsigKey } from './tsig';

/** What the client needs: the server, the key, the per-request timeout, the run's signal. */
export interface Rfc2136ClientOptions {
  server: ServerAddress;
  key: TsigKey;
  /** RFC2136_TIMEOUT: how long one request may go unanswered. */
  timeoutMs: number;
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
      wire = await exchange(this.options.server, request.wire, { timeoutMs: this.options.timeoutMs, signal: this.options.signal });
    } catch (err) {
      if (err instanceof TransportError) throw transportFailure(ctx, err);
      throw err;
    }
    if (this.options.signal?.aborted) throw new AbortedError();
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

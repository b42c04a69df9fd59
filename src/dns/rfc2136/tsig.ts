/**
 * TSIG (RFC 8945): signing a DNS message with a shared key and verifying the signed answer.
 * No maintained TSIG client exists on npm, so this is written against the RFC and checked
 * against BIND's own answers (test/integration/rfc2136-tsig.test.ts).
 *
 *   request:  MAC = HMAC(key, message ‖ TSIG variables)                      (§4.3.3)
 *   response: MAC = HMAC(key, len(request MAC) ‖ request MAC ‖ message ‖ TSIG variables)
 *   TSIG variables = key name ‖ class ANY ‖ TTL 0 ‖ algorithm name ‖ time signed (48 bit)
 *                    ‖ fudge ‖ error ‖ other length ‖ other data (names in canonical wire form)
 *
 * The TSIG record is the last one of the additional section; "message" is everything before
 * it, with ARCOUNT one lower and the ID the original one. The secret is revealed only into the
 * HMAC here and never reaches a message.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Secret } from '../../config/secret';
import type { TsigAlgorithm } from './config';

export type { TsigAlgorithm } from './config';

/** The fudge we sign with: how far apart the two clocks may be (RFC 8945 §10 recommends 300 s). */
export const FUDGE_SECONDS = 300;

const TYPE_TSIG = 250;
const CLASS_ANY = 255;

/** TSIG error codes (RFC 8945 §3, IANA DNS RCODEs 16-18, 22). */
export const TsigErrorCode = { BADSIG: 16, BADKEY: 17, BADTIME: 18, BADTRUNC: 22 } as const;

/** A TSIG key: its name as the server knows it, its algorithm, and the shared secret (base64). */
export interface TsigKey {
  name: string;
  algorithm: TsigAlgorithm;
  secret: Secret;
}

/** A message signed for sending, and the MAC the answer's MAC must cover. */
export interface SignedRequest {
  wire: Buffer;
  mac: Buffer;
}

/** The TSIG record of an answer, parsed. */
export interface TsigRecord {
  keyName: string;
  algorithm: string;
  timeSigned: number;
  fudge: number;
  mac: Buffer;
  originalId: number;
  /** 0, or one of TsigErrorCode. */
  error: number;
  otherData: Buffer;
}

/** Why an answer's TSIG does not check out (not the server's TSIG error: that is TsigRecord.error). */
export class TsigVerifyError extends Error {
  constructor(readonly reason: 'unsigned' | 'badKey' | 'badMac' | 'badTime', message: string) {
    super(message);
  }
}

/** `name` in canonical wire form (RFC 4034 §6.2): lower case, no compression, root label last. */
export function wireName(name: string): Buffer {
  const labels = name.replace(/\.$/, '').toLowerCase().split('.').filter(Boolean);
  return Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([Buffer.byteLength(l)]), Buffer.from(l)])), Buffer.from([0])]);
}

/** Signs `message` (no TSIG yet) with `key` at `nowMs` (injected, so tests can skew the clock). */
export function signRequest(message: Buffer, key: TsigKey, nowMs: number): SignedRequest {
  const fields = { timeSigned: Math.floor(nowMs / 1000), fudge: FUDGE_SECONDS, error: 0, otherData: Buffer.alloc(0) };
  const mac = hmac(key, [message, variables(key, fields)]);
  const rr = tsigRecord(key, { ...fields, mac, originalId: message.readUInt16BE(0) });
  const wire = Buffer.concat([message, rr]);
  wire.writeUInt16BE(message.readUInt16BE(10) + 1, 10);
  return { wire, mac };
}

/**
 * Splits `response` into the message before its TSIG record and the record; undefined when the
 * last additional record is not a TSIG (an unsigned answer).
 */
export function splitTsig(response: Buffer): { message: Buffer; tsig: TsigRecord } | undefined {
  const arcount = response.readUInt16BE(10);
  if (arcount === 0) return undefined;
  const counts = [4, 6, 8, 10].map((o) => response.readUInt16BE(o));
  let offset = 12;
  for (let i = 0; i < counts[0]!; i++) offset = skipName(response, offset) + 4;
  const records = counts[1]! + counts[2]! + counts[3]!;
  for (let i = 0; i < records - 1; i++) offset = skipRecord(response, offset);
  const start = offset;
  const nameEnd = skipName(response, offset);
  if (response.readUInt16BE(nameEnd) !== TYPE_TSIG) return undefined;
  const message = Buffer.from(response.subarray(0, start));
  message.writeUInt16BE(arcount - 1, 10);
  return { message, tsig: parseTsig(response, start, nameEnd) };
}

/**
 * Checks the answer to `request` is signed with `key`: its MAC covers the request's MAC, the
 * message and the TSIG variables, and its time is within the fudge of `nowMs`. A TSIG error in
 * the answer (BADSIG, BADKEY: sent with an empty MAC, RFC 8945 §5.3.2) is the caller's to report
 * first; this only says whether the answer itself can be trusted.
 */
export function verifyResponse(response: Buffer, request: SignedRequest, key: TsigKey, nowMs: number): { message: Buffer; tsig: TsigRecord } {
  const split = splitTsig(response);
  if (!split) throw new TsigVerifyError('unsigned', 'the answer carries no TSIG signature');
  const { tsig } = split;
  if (tsig.keyName !== key.name.replace(/\.$/, '').toLowerCase() || tsig.algorithm !== key.algorithm) {
    throw new TsigVerifyError('badKey', `the answer is signed with another key (${tsig.keyName}, ${tsig.algorithm})`);
  }
  if (tsig.mac.length === 0) throw new TsigVerifyError('unsigned', 'the answer carries an empty TSIG signature');
  const message = Buffer.from(split.message);
  message.writeUInt16BE(tsig.originalId, 0);
  const macLength = Buffer.alloc(2);
  macLength.writeUInt16BE(request.mac.length);
  const expected = hmac(key, [macLength, request.mac, message, variables(key, tsig)]);
  if (expected.length !== tsig.mac.length || !timingSafeEqual(expected, tsig.mac)) {
    throw new TsigVerifyError('badMac', 'the signature of the answer does not verify with this key');
  }
  if (Math.abs(nowMs / 1000 - tsig.timeSigned) > tsig.fudge) {
    throw new TsigVerifyError('badTime', `the answer was signed at ${new Date(tsig.timeSigned * 1000).toISOString()}, more than ${tsig.fudge} s from this machine's clock`);
  }
  return split;
}

/** The server's clock from a BADTIME answer's other data (RFC 8945 §5.2.3), if it carries one. */
export function serverTime(tsig: TsigRecord): Date | undefined {
  return tsig.otherData.length === 6 ? new Date(readUint48(tsig.otherData, 0) * 1000) : undefined;
}

function hmac(key: TsigKey, parts: Buffer[]): Buffer {
  const h = createHmac(key.algorithm.slice('hmac-'.length), Buffer.from(key.secret.reveal(), 'base64'));
  for (const p of parts) h.update(p);
  return h.digest();
}

/** The TSIG variables of §4.3.3, in the order they are digested. */
function variables(key: TsigKey, f: { timeSigned: number; fudge: number; error: number; otherData: Buffer }): Buffer {
  const fixed = Buffer.alloc(6);
  fixed.writeUInt16BE(CLASS_ANY, 0);
  fixed.writeUInt32BE(0, 2);
  const tail = Buffer.alloc(12);
  writeUint48(tail, 0, f.timeSigned);
  tail.writeUInt16BE(f.fudge, 6);
  tail.writeUInt16BE(f.error, 8);
  tail.writeUInt16BE(f.otherData.length, 10);
  return Buffer.concat([wireName(key.name), fixed, wireName(key.algorithm), tail, f.otherData]);
}

/** The TSIG resource record (§4.2). */
function tsigRecord(key: TsigKey, f: { timeSigned: number; fudge: number; mac: Buffer; originalId: number; error: number; otherData: Buffer }): Buffer {
  const head = Buffer.alloc(8);
  writeUint48(head, 0, f.timeSigned);
  head.writeUInt16BE(f.fudge, 6);
  const macSize = Buffer.alloc(2);
  macSize.writeUInt16BE(f.mac.length);
  const tail = Buffer.alloc(6);
  tail.writeUInt16BE(f.originalId, 0);
  tail.writeUInt16BE(f.error, 2);
  tail.writeUInt16BE(f.otherData.length, 4);
  const rdata = Buffer.concat([wireName(key.algorithm), head, macSize, f.mac, tail, f.otherData]);
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(TYPE_TSIG, 0);
  fixed.writeUInt16BE(CLASS_ANY, 2);
  fixed.writeUInt32BE(0, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([wireName(key.name), fixed, rdata]);
}

function parseTsig(buf: Buffer, start: number, nameEnd: number): TsigRecord {
  const keyName = readName(buf, start);
  let o = nameEnd + 10;
  const algorithm = readName(buf, o);
  o = skipName(buf, o);
  const timeSigned = readUint48(buf, o);
  const fudge = buf.readUInt16BE(o + 6);
  const macSize = buf.readUInt16BE(o + 8);
  const mac = Buffer.from(buf.subarray(o + 10, o + 10 + macSize));
  o += 10 + macSize;
  const otherLength = buf.readUInt16BE(o + 4);
  return { keyName, algorithm, timeSigned, fudge, mac, originalId: buf.readUInt16BE(o), error: buf.readUInt16BE(o + 2), otherData: Buffer.from(buf.subarray(o + 6, o + 6 + otherLength)) };
}

/** The offset just past the (possibly compressed) name at `offset`. */
function skipName(buf: Buffer, offset: number): number {
  for (let o = offset; ;) {
    const len = buf.readUInt8(o);
    if (len === 0) return o + 1;
    if ((len & 0xc0) === 0xc0) return o + 2;
    o += len + 1;
  }
}

function skipRecord(buf: Buffer, offset: number): number {
  const o = skipName(buf, offset);
  return o + 10 + buf.readUInt16BE(o + 8);
}

/** The name at `offset`, lower case, without trailing dot, following compression pointers. */
function readName(buf: Buffer, offset: number): string {
  const labels: string[] = [];
  for (let o = offset, hops = 0; hops < 64; hops++) {
    const len = buf.readUInt8(o);
    if (len === 0) break;
    if ((len & 0xc0) === 0xc0) {
      o = buf.readUInt16BE(o) & 0x3fff;
      continue;
    }
    labels.push(buf.toString('latin1', o + 1, o + 1 + len));
    o += len + 1;
  }
  return labels.join('.').toLowerCase();
}

function writeUint48(buf: Buffer, offset: number, value: number): void {
  buf.writeUInt16BE(Math.floor(value / 2 ** 32), offset);
  buf.writeUInt32BE(value % 2 ** 32, offset + 2);
}

function readUint48(buf: Buffer, offset: number): number {
  return buf.readUInt16BE(offset) * 2 ** 32 + buf.readUInt32BE(offset + 2);
}

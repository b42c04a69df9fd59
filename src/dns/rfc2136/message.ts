/**
 * The two DNS messages the RFC 2136 provider sends, encoded with `dns-packet` (which knows
 * neither the UPDATE sections by name nor class NONE, so the update section is put together here):
 *
 *   query:  QUESTION name IN SOA                         (which zone holds a name; proves the key)
 *   update: ZONE zone IN SOA, PREREQUISITE none, UPDATE
 *             add:    name TTL IN   TXT "value"          (RFC 2136 §2.5.1: adds one value)
 *             delete: name 0   NONE TXT "value"          (§2.5.4: deletes exactly that value)
 *
 * dns-packet compresses no names, so a record encoded on its own is laid out the same inside
 * the message, and its class sits right after its name and type.
 */
import * as packet from 'dns-packet';
import { randomInt } from 'node:crypto';

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

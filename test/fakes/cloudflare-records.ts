/**
 * DNS records as the Cloudflare fake stores and answers them: the record shape, name
 * normalisation, creation-time validation and the list filters of
 * `GET /zones/:zone_id/dns_records` (type, name[.exact|.contains|.startswith|.endswith],
 * content[...], match=all|any). See
 * https://developers.cloudflare.com/api/resources/dns/subresources/records/methods/list/
 */
import { randomBytes } from 'node:crypto';
import { CfHttpError } from './cloudflare-envelope';
import { unquoteTxt } from './challtestsrv-publisher';

/** A DNS record as the v4 API returns it (the fields nrcert and the SDK look at, and a few more). */
export interface FakeDnsRecord {
  id: string;
  zone_id: string;
  zone_name: string;
  name: string;
  type: string;
  content: string;
  ttl: number;
  proxiable: boolean;
  proxied: boolean;
  comment: string | null;
  tags: string[];
  settings: Record<string, unknown>;
  meta: Record<string, unknown>;
  created_on: string;
  modified_on: string;
}

/** The zone a record is created in. */
export interface FakeZone {
  id: string;
  name: string;
}

/** A random 32-hex identifier, like Cloudflare's zone, record and token ids. */
export function hexId(): string {
  return randomBytes(16).toString('hex');
}

/**
 * Cloudflare takes a record name relative to the zone ("_acme-challenge", "@") or fully
 * qualified, with or without a trailing dot, and stores the lower-case FQDN without the dot.
 */
export function normaliseName(name: string, zoneName: string): string {
  const n = name.trim().toLowerCase().replace(/\.$/, '');
  if (n === '@' || n === zoneName) return zoneName;
  return n.endsWith(`.${zoneName}`) ? n : `${n}.${zoneName}`;
}

/** The value a record serves in DNS: TXT content without surrounding quotes. */
export function servedValue(record: { type: string; content: string }): string {
  return record.type === 'TXT' ? unquoteTxt(record.content) : record.content;
}

function validationError(message: string): CfHttpError {
  return new CfHttpError(400, [{ code: 1004, message: `DNS Validation Error: ${message}` }]);
}

/** Builds a record from a create request body, or throws Cloudflare's 400 answer. */
export function recordFromBody(body: unknown, zone: FakeZone): FakeDnsRecord {
  const b = (body ?? {}) as Record<string, unknown>;
  if (typeof b.type !== 'string' || b.type === '') throw validationError('type is required.');
  if (typeof b.name !== 'string' || b.name === '') throw validationError('name is required.');
  if (typeof b.content !== 'string') throw validationError('content is required.');
  const ttl = b.ttl === undefined ? 1 : b.ttl;
  if (typeof ttl !== 'number' || !(ttl === 1 || (ttl >= 60 && ttl <= 86400))) {
    throw validationError('TTL must be between 60 and 86400 seconds, or 1 for Automatic.');
  }
  const now = new Date().toISOString();
  return {
    id: hexId(),
    zone_id: zone.id,
    zone_name: zone.name,
    name: normaliseName(b.name, zone.name),
    type: b.type.toUpperCase(),
    content: b.content,
    ttl,
    proxiable: false,
    proxied: false,
    comment: typeof b.comment === 'string' ? b.comment : null,
    tags: [],
    settings: {},
    meta: {},
    created_on: now,
    modified_on: now,
  };
}

/** Cloudflare refuses a second record with the same type, name and served value. */
export function isIdentical(a: FakeDnsRecord, b: FakeDnsRecord): boolean {
  return a.type === b.type && a.name === b.name && servedValue(a) === servedValue(b);
}

type Predicate = (r: FakeDnsRecord) => boolean;

function stringFilters(field: 'name' | 'content', query: Record<string, string>): Predicate[] {
  const value = (r: FakeDnsRecord): string =>
    field === 'name' ? r.name : servedValue(r).toLowerCase();
  const norm = (q: string): string =>
    field === 'name' ? q.toLowerCase().replace(/\.$/, '') : unquoteTxt(q).toLowerCase();
  const out: Predicate[] = [];
  const exact = query[`${field}.exact`] ?? query[field];
  if (exact !== undefined) out.push((r) => value(r) === norm(exact));
  const contains = query[`${field}.contains`];
  if (contains !== undefined) out.push((r) => value(r).includes(norm(contains)));
  const starts = query[`${field}.startswith`];
  if (starts !== undefined) out.push((r) => value(r).startsWith(norm(starts)));
  const ends = query[`${field}.endswith`];
  if (ends !== undefined) out.push((r) => value(r).endsWith(norm(ends)));
  return out;
}

/** The records of `query`'s filters; `match=any` ORs them, the default `all` ANDs them. */
export function filterRecords(records: FakeDnsRecord[], query: Record<string, string>): FakeDnsRecord[] {
  const predicates: Predicate[] = [...stringFilters('name', query), ...stringFilters('content', query)];
  const type = query.type;
  if (type !== undefined) predicates.push((r) => r.type === type.toUpperCase());
  if (predicates.length === 0) return records;
  const any = query.match === 'any';
  return records.filter((r) => (any ? predicates.some((p) => p(r)) : predicates.every((p) => p(r))));
}

/**
 * The endpoints of the Cloudflare fake: token verify, zone list, and DNS record list / get /
 * create / delete, with Cloudflare's status and error codes (see cloudflare-api.ts for the list).
 */
import type { TxtPublisher } from './challtestsrv-publisher';
import {
  authenticationError, CfHttpError, couldNotRoute, ok, paginate, type FakeReply,
} from './cloudflare-envelope';
import {
  filterRecords, isIdentical, recordFromBody, servedValue, type FakeDnsRecord, type FakeZone,
} from './cloudflare-records';

/** A configured token, by its secret. */
export interface TokenState {
  id: string;
  zones: 'all' | string[];
  dnsEdit: boolean;
  status: 'active' | 'disabled' | 'expired';
}

/** Everything the fake holds. */
export interface FakeState {
  zones: FakeZone[];
  tokens: Map<string, TokenState>;
  records: Map<string, FakeDnsRecord>;
  /** false: records are stored without their comment. */
  keepComments: boolean;
  publisher: TxtPublisher | undefined;
}

/** One request, parsed: `segments` is the path after /client/v4, split on '/'. */
export interface RouteRequest {
  method: string;
  pathname: string;
  segments: string[];
  query: Record<string, string>;
  body: unknown;
  token: TokenState | undefined;
}

const ZONE_PAGES = { defaultPerPage: 20, minPerPage: 5, maxPerPage: 50 };
const RECORD_PAGES = { defaultPerPage: 100, minPerPage: 5, maxPerPage: 5_000_000 };
const HEX_ID = /^[0-9a-f]{32}$/;

function activeToken(token: TokenState | undefined): TokenState {
  if (!token || token.status !== 'active') throw authenticationError();
  return token;
}

function canSee(token: TokenState, zone: FakeZone): boolean {
  return token.zones === 'all' || token.zones.includes(zone.name) || token.zones.includes(zone.id);
}

/** GET /user/tokens/verify: 401 code 1000 for a token Cloudflare does not know. */
function verifyToken(token: TokenState | undefined): FakeReply {
  if (!token) throw new CfHttpError(401, [{ code: 1000, message: 'Invalid API Token' }]);
  const messages = token.status === 'active'
    ? [{ code: 10000, message: 'This API Token is valid and active', type: null }]
    : [];
  return ok({ id: token.id, status: token.status }, { messages });
}

function zoneJson(zone: FakeZone): Record<string, unknown> {
  return {
    id: zone.id,
    name: zone.name,
    status: 'active',
    paused: false,
    type: 'full',
    development_mode: 0,
    name_servers: ['ada.ns.cloudflare.com', 'bob.ns.cloudflare.com'],
    original_name_servers: null,
    account: { id: '0123456789abcdef0123456789abcdef', name: 'nrcert fake account' },
    created_on: '2024-01-01T00:00:00Z',
    modified_on: '2024-01-01T00:00:00Z',
    activated_on: '2024-01-01T00:00:00Z',
  };
}

/** GET /zones?name=: only the zones the token may see, filtered by exact name. */
function listZones(state: FakeState, req: RouteRequest): FakeReply {
  const token = activeToken(req.token);
  const name = req.query.name?.toLowerCase().replace(/\.$/, '');
  const zones = state.zones.filter((z) => canSee(token, z) && (name === undefined || z.name === name));
  return paginate(zones.map(zoneJson), req.query, ZONE_PAGES);
}

/** The zone of /zones/:zone_id/…: 400 code 7003 if unknown, 403 if the token may not see it. */
function zoneFor(state: FakeState, req: RouteRequest, token: TokenState): FakeZone {
  const zone = state.zones.find((z) => z.id === req.segments[1]);
  if (!zone) throw couldNotRoute(req.pathname);
  if (!canSee(token, zone)) throw authenticationError();
  return zone;
}

function recordFor(state: FakeState, zone: FakeZone, req: RouteRequest): FakeDnsRecord {
  const id = req.segments[3] ?? '';
  if (!HEX_ID.test(id)) throw couldNotRoute(req.pathname);
  const record = state.records.get(id);
  if (!record || record.zone_id !== zone.id) {
    throw new CfHttpError(404, [{ code: 81044, message: 'Record does not exist.' }]);
  }
  return record;
}

async function createRecord(state: FakeState, zone: FakeZone, body: unknown): Promise<FakeReply> {
  const record = recordFromBody(body, zone);
  if (!state.keepComments) record.comment = null;
  for (const existing of state.records.values()) {
    if (isIdentical(existing, record)) {
      throw new CfHttpError(400, [{ code: 81058, message: 'An identical record already exists.' }]);
    }
  }
  if (record.type === 'TXT') await state.publisher?.add(record.name, servedValue(record));
  state.records.set(record.id, record);
  return ok({ ...record });
}

async function deleteRecord(state: FakeState, record: FakeDnsRecord): Promise<FakeReply> {
  state.records.delete(record.id);
  if (record.type === 'TXT' && state.publisher) {
    const remaining = [...state.records.values()]
      .filter((r) => r.type === 'TXT' && r.name === record.name)
      .map(servedValue);
    await state.publisher.replace(record.name, remaining);
  }
  return ok({ id: record.id });
}

/** /zones/:zone_id/dns_records[/:id] */
async function dnsRecords(state: FakeState, req: RouteRequest): Promise<FakeReply> {
  const token = activeToken(req.token);
  const zone = zoneFor(state, req, token);
  const writes = req.method === 'POST' || req.method === 'DELETE';
  if (writes && !token.dnsEdit) throw authenticationError();
  if (req.segments.length === 3 && req.method === 'GET') {
    const inZone = [...state.records.values()].filter((r) => r.zone_id === zone.id);
    return paginate(filterRecords(inZone, req.query), req.query, RECORD_PAGES);
  }
  if (req.segments.length === 3 && req.method === 'POST') return createRecord(state, zone, req.body);
  if (req.segments.length === 4 && req.method === 'GET') return ok({ ...recordFor(state, zone, req) });
  if (req.segments.length === 4 && req.method === 'DELETE') {
    return deleteRecord(state, recordFor(state, zone, req));
  }
  throw noRoute();
}

function noRoute(): CfHttpError {
  return new CfHttpError(400, [{ code: 7000, message: 'No route for that URI' }]);
}

/** Dispatches a request to its endpoint; throws CfHttpError for Cloudflare's error answers. */
export async function route(state: FakeState, req: RouteRequest): Promise<FakeReply> {
  const [first, second, third] = req.segments;
  if (req.method === 'GET' && req.segments.length === 3 && first === 'user' && second === 'tokens'
    && third === 'verify') {
    return verifyToken(req.token);
  }
  if (first === 'zones' && req.segments.length === 1 && req.method === 'GET') return listZones(state, req);
  if (first === 'zones' && third === 'dns_records') return dnsRecords(state, req);
  if (first === 'zones' && req.segments.length === 2 && req.method === 'GET') {
    return ok(zoneJson(zoneFor(state, req, activeToken(req.token))));
  }
  if (first === 'zones' && req.segments.length >= 2) {
    zoneFor(state, req, activeToken(req.token));
  }
  throw noRoute();
}

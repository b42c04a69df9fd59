/**
 * The Cloudflare v4 response envelope, its errors and its page-number pagination, as the fake
 * answers them. Shapes: https://developers.cloudflare.com/fundamentals/api/ (envelope) and the
 * list endpoints' `result_info` (page, per_page, count, total_count, total_pages).
 */

/** One entry of the envelope's `errors` / `messages` arrays. */
export interface CfMessage {
  code: number;
  message: string;
}

/** The v4 envelope every endpoint answers with. */
export interface CfEnvelope {
  success: boolean;
  errors: CfMessage[];
  messages: Array<CfMessage & { type?: string | null }>;
  result: unknown;
  result_info?: ResultInfo;
}

/** Pagination block of list answers. */
export interface ResultInfo {
  page: number;
  per_page: number;
  count: number;
  total_count: number;
  total_pages: number;
}

/** An HTTP answer of the fake: status, envelope and extra headers. */
export interface FakeReply {
  status: number;
  body: CfEnvelope;
  headers?: Record<string, string>;
}

/** Thrown by route handlers to answer with a v4 error envelope. */
export class CfHttpError extends Error {
  constructor(
    readonly status: number,
    readonly errors: CfMessage[],
    readonly headers: Record<string, string> = {},
  ) {
    super(errors.map((e) => `${e.code} ${e.message}`).join('; '));
  }
}

/** A success envelope around `result`. */
export function ok(result: unknown, extra: Partial<CfEnvelope> = {}): FakeReply {
  return { status: 200, body: { success: true, errors: [], messages: [], result, ...extra } };
}

/** A failure envelope: `success: false`, `result: null`, the given errors. */
export function failure(err: CfHttpError): FakeReply {
  return {
    status: err.status,
    body: { success: false, errors: err.errors, messages: [], result: null },
    headers: err.headers,
  };
}

/** Cloudflare's answer when a token is missing, unknown, inactive or lacks the permission. */
export function authenticationError(): CfHttpError {
  return new CfHttpError(403, [{ code: 10000, message: 'Authentication error' }]);
}

/** Cloudflare's answer for a path whose object identifier (zone or record id) is not routable. */
export function couldNotRoute(pathname: string): CfHttpError {
  return new CfHttpError(400, [
    { code: 7003, message: `Could not route to ${pathname}, perhaps your object identifier is invalid?` },
    { code: 7000, message: 'No route for that URI' },
  ]);
}

/** Limits of one list endpoint's `per_page`. */
export interface PageLimits {
  defaultPerPage: number;
  minPerPage: number;
  maxPerPage: number;
}

function intParam(value: string | undefined, fallback: number): number {
  const n = value === undefined ? NaN : Number.parseInt(value, 10);
  return Number.isFinite(n) ? n : fallback;
}

/**
 * Slices `items` by the `page` / `per_page` query parameters. A page past the end is empty,
 * which is what ends the SDK's page iterator (it asks for page+1 until it gets no items).
 */
export function paginate(items: unknown[], query: Record<string, string>, limits: PageLimits): FakeReply {
  const perPage = Math.min(
    limits.maxPerPage,
    Math.max(limits.minPerPage, intParam(query.per_page, limits.defaultPerPage)),
  );
  const page = Math.max(1, intParam(query.page, 1));
  const slice = items.slice((page - 1) * perPage, page * perPage);
  const resultInfo: ResultInfo = {
    page,
    per_page: perPage,
    count: slice.length,
    total_count: items.length,
    total_pages: Math.max(1, Math.ceil(items.length / perPage)),
  };
  return ok(slice, { result_info: resultInfo });
}

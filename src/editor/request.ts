/**
 * A request from the Node-RED editor, as it lands in EDITOR_DIR/requests/<id>.json: the strict
 * check of the only input nrcert takes from Node-RED. Pure: a file name, its bytes and its kind
 * in, a request or the reason it is refused out. Anything not exactly as the contract says
 * (/prompts/editor-contract.md) is refused: unknown fields, wrong types, a name that does not
 * match the id, more than 4096 bytes, not a regular file.
 */
import { Secret } from '../config/secret';

/** The most bytes a request file may hold. */
export const MAX_REQUEST_BYTES = 4096;

/** What a request id looks like (a UUID fits). */
export const REQUEST_ID = /^[A-Za-z0-9-]{8,64}$/;

/** A client certificate's name, as `nrcert clients add` takes it. */
const CLIENT_NAME = /^[A-Za-z0-9._-]{1,64}$/;

/** A certificate serial in hex, as `clients list --json` prints it (or with colons between the bytes, as openssl shows it). */
const SERIAL = /^[0-9A-Fa-f]{1,2}(?::?[0-9A-Fa-f]{2}){0,40}$/;

/** A well-formed request. The password is a Secret: it never reaches a log, a job or a file. */
export type EditorRequest =
  | { id: string; action: 'renew' }
  | { id: string; action: 'client-add'; name: string; password: Secret }
  | { id: string; action: 'client-revoke'; serial: string };

/** What the spool found under one name (spool.ts reads it without following a link). */
export interface RequestFile {
  name: string;
  kind: 'file' | 'link' | 'other';
  /** Size in bytes (from lstat). */
  size: number;
  /** The bytes, for a regular file no larger than MAX_REQUEST_BYTES. */
  bytes?: Buffer;
  /** Hard links to it (a regular file with more than one is refused: its content is someone else's). */
  links?: number;
}

/** The verdict on one file: a request, or why it was refused (and the id, when the name gives one). */
export type ParseResult = { ok: true; request: EditorRequest } | { ok: false; reason: string; id?: string };

const FIELDS: Record<EditorRequest['action'], string[]> = {
  renew: ['version', 'id', 'action'],
  'client-add': ['version', 'id', 'action', 'name', 'password'],
  'client-revoke': ['version', 'id', 'action', 'serial'],
};

/** The id a spool name carries (`<id>.json`), or undefined. */
export function idOfName(name: string): string | undefined {
  const m = /^(.+)\.json$/.exec(name);
  return m && REQUEST_ID.test(m[1]) ? m[1] : undefined;
}

/** Checks one spool file; never throws. */
export function parseRequest(file: RequestFile): ParseResult {
  const id = idOfName(file.name);
  const refuse = (reason: string): ParseResult => (id ? { ok: false, reason, id } : { ok: false, reason });
  if (!id) return refuse('the name is not <id>.json with an id of 8 to 64 letters, digits or dashes');
  if (file.kind === 'link') return refuse('it is a symbolic link; only regular files are read');
  if (file.kind !== 'file') return refuse('it is not a regular file');
  if ((file.links ?? 1) > 1) return refuse('it has other hard links; only a file written for the request is read');
  if (file.size > MAX_REQUEST_BYTES || (file.bytes && file.bytes.length > MAX_REQUEST_BYTES)) return refuse(`it is larger than ${MAX_REQUEST_BYTES} bytes`);
  if (!file.bytes) return refuse('it could not be read');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(file.bytes);
  } catch {
    return refuse('it is not UTF-8 text');
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return refuse('it is not JSON');
  }
  return checkBody(body, id, refuse);
}

function checkBody(body: unknown, id: string, refuse: (reason: string) => ParseResult): ParseResult {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return refuse('it is not a JSON object');
  const o = body as Record<string, unknown>;
  if (o.version !== 1) return refuse('"version" is not 1');
  if (o.id !== id) return refuse('"id" is not the id in the file name');
  const action = o.action;
  if (typeof action !== 'string' || !Object.hasOwn(FIELDS, action)) return refuse('"action" is not renew, client-add or client-revoke');
  const allowed = FIELDS[action as EditorRequest['action']];
  const unknown = Object.keys(o).find((k) => !allowed.includes(k));
  if (unknown !== undefined) return refuse(`unknown field "${unknown.slice(0, 40).replace(/[^\x20-\x7e]/g, '?')}" for ${action}`);
  const missing = allowed.find((k) => !(k in o));
  if (missing !== undefined) return refuse(`"${missing}" is missing for ${action}`);
  switch (action) {
    case 'renew':
      return { ok: true, request: { id, action } };
    case 'client-add': {
      if (typeof o.name !== 'string' || !CLIENT_NAME.test(o.name)) return refuse('"name" is not 1 to 64 letters, digits, ".", "-" or "_"');
      if (typeof o.password !== 'string' || o.password.length < 8 || o.password.length > 256) return refuse('"password" is not a string of 8 to 256 characters');
      if (/[\u0000-\u001f\u007f]/.test(o.password)) return refuse('"password" contains a control character');
      return { ok: true, request: { id, action, name: o.name, password: new Secret(o.password) } };
    }
    default: {
      if (typeof o.serial !== 'string' || !SERIAL.test(o.serial)) return refuse('"serial" is not a hexadecimal serial number');
      return { ok: true, request: { id, action: 'client-revoke', serial: o.serial.replace(/:/g, '').toLowerCase() } };
    }
  }
}

/**
 * Puts the nrcert block into the text of a settings.js: replaces an earlier nrcert block, or
 * removes the active top-level https, httpsRefreshInterval and requireHttps properties of
 * `module.exports = { … }` and inserts the block where https was (else right after the `{`).
 * Every other byte stays as it was. Text it cannot follow is a ScanError, never a guess.
 */
import { lineOf, matchBrackets, ScanError, tokenize, type Token } from './js-scan';

/** The first line of the nrcert block in settings.js. */
export const BLOCK_BEGIN = '// nrcert: begin';
/** The last line of the nrcert block in settings.js. */
export const BLOCK_END = '// nrcert: end';
/** The top-level settings the nrcert block sets, removed elsewhere in module.exports. */
export const MANAGED_KEYS = ['https', 'httpsRefreshInterval', 'requireHttps'] as const;

/**
 * One block nrcert manages in settings.js: its marker lines, the top-level keys it sets, and what
 * to do with an active setting of those keys outside it: remove it (the https block takes over),
 * or refuse (a login the user made by hand is never replaced).
 */
export interface BlockSpec {
  begin: string;
  end: string;
  keys: readonly string[];
  existing: 'remove' | 'refuse';
}

/** The https block: key, certificate, refresh, requireHttps. */
export const HTTPS_BLOCK: BlockSpec = { begin: BLOCK_BEGIN, end: BLOCK_END, keys: MANAGED_KEYS, existing: 'remove' };

/** One top-level property of the exports object: its name (null when computed or spread). */
export interface ObjectProperty {
  key: string | null;
  /** Offset of its first token. */
  start: number;
  /** Offset just after its value (before the comma). */
  end: number;
  /** Offset just after its comma, or null for a last property without one. */
  commaEnd: number | null;
}

/** The `module.exports = { … }` object literal: its braces, properties and direct comments. */
export interface ExportsObject {
  open: number;
  close: number;
  properties: ObjectProperty[];
  /** Comments directly in the object body (not inside a property's value). */
  comments: Token[];
  /** Every comment in the file. */
  allComments: Token[];
}

/** What editSettings did. */
export interface SettingsEdit {
  text: string;
  /** Active managed properties removed outside the block, by name. */
  removed: string[];
  /** Whether an earlier nrcert block was replaced (else the block was inserted). */
  replaced: boolean;
}

/** Finds the one top-level `module.exports = {` object and its top-level properties. */
export function findExportsObject(source: string): ExportsObject {
  const tokens = tokenize(source);
  const matches = matchBrackets(source, tokens);
  const code = tokens.map((t, index) => ({ t, index })).filter(({ t }) => t.kind !== 'comment');
  const assignments = code.filter((_, k) =>
    ['module', '.', 'exports', '='].every((text, d) => code[k + d]?.t.text === text),
  );
  if (assignments.length !== 1) {
    throw new ScanError(`found ${assignments.length} assignments to module.exports, expected exactly one`, 0);
  }
  const at = code.indexOf(assignments[0]);
  const brace = code[at + 4];
  if (!brace || brace.t.text !== '{' || brace.t.kind !== 'punct') {
    throw new ScanError(`module.exports at line ${lineOf(source, code[at].t.start)} is not set to an object literal { … }`, 0);
  }
  if (isNested(code[at].index, matches)) {
    throw new ScanError(`module.exports at line ${lineOf(source, code[at].t.start)} is not at the top level of the file`, 0);
  }
  const closeIndex = matches.get(brace.index)!;
  return {
    open: brace.t.start,
    close: tokens[closeIndex].start,
    allComments: tokens.filter((t) => t.kind === 'comment'),
    ...topLevelParts(tokens, matches, brace.index + 1, closeIndex),
  };
}

/** True when the token at `index` lies inside some bracket pair. */
function isNested(index: number, matches: Map<number, number>): boolean {
  for (const [open, close] of matches) if (open < index && index < close) return true;
  return false;
}

/** Splits the tokens between `from` and `to` at top-level commas into properties. */
function topLevelParts(tokens: Token[], matches: Map<number, number>, from: number, to: number) {
  const properties: ObjectProperty[] = [];
  const comments: Token[] = [];
  let part: Token[] = [];
  const finish = (commaEnd: number | null): void => {
    if (part.length > 0) properties.push({ key: propertyKey(part), start: part[0].start, end: part[part.length - 1].end, commaEnd });
    part = [];
  };
  for (let i = from; i < to; i++) {
    const token = tokens[i];
    if (token.kind === 'comment') comments.push(token);
    else if (token.kind === 'punct' && token.text === ',') finish(token.end);
    else if (matches.has(i)) {
      part.push(token, tokens[matches.get(i)!]);
      i = matches.get(i)!;
    } else part.push(token);
  }
  finish(null);
  return { properties, comments };
}

/** The name of `key: …`, `"key": …`, `key() {…}` or shorthand `key`; null otherwise. */
function propertyKey(part: Token[]): string | null {
  let [first, second] = part;
  if (first.kind === 'ident' && ['get', 'set', 'async'].includes(first.text) && second?.kind === 'ident') {
    [, first, second] = part;
  }
  const named = first.kind === 'ident' || first.kind === 'string';
  if (!named || !(second === undefined || second.text === ':' || second.text === '(')) return null;
  return first.kind === 'string' ? first.text.slice(1, -1) : first.text;
}

/**
 * Returns `source` with the nrcert block in module.exports; `makeBlock(indent, eol)` renders the
 * block as whole lines. Throws ScanError when the file cannot be edited safely.
 */
export function editSettings(source: string, makeBlock: (indent: string, eol: string) => string, spec: BlockSpec = HTTPS_BLOCK): SettingsEdit {
  const object = findExportsObject(source);
  const eol = source.includes('\r\n') ? '\r\n' : '\n';
  const block = findBlock(source, object, spec);
  const inside = (p: ObjectProperty) => block !== null && p.start >= block.start && p.end <= block.end;
  const managed = object.properties.filter((p) => spec.keys.includes(p.key ?? '') && !inside(p));
  if (spec.existing === 'refuse' && managed.length > 0) {
    const names = [...new Set(managed.map((p) => p.key))].join(', ');
    throw new ScanError(`it already sets ${names} (line ${lineOf(source, managed[0].start)}); nrcert does not replace settings you made: remove ${names} there first, or keep it`, managed[0].start);
  }
  const edits = managed.map((p) => ({ ...removalRange(source, p), text: '' }));
  if (block) {
    edits.push({ ...block, text: makeBlock(indentOf(source, block.start), eol) });
  } else {
    const https = managed.findIndex((p) => p.key === spec.keys[0]);
    const first = object.properties[0];
    const at = https >= 0 ? edits[https] : insertionPoint(source, object);
    const indent = https >= 0 ? indentOf(source, managed[https].start) : first ? indentOf(source, first.start) : '    ';
    at.text = (at.whole ? '' : eol) + makeBlock(indent, eol);
    if (https < 0) edits.push(at);
  }
  edits.sort((a, b) => b.start - a.start);
  let text = source;
  for (const e of edits) text = text.slice(0, e.start) + e.text + text.slice(e.end);
  return { text, removed: managed.map((p) => p.key!), replaced: block !== null };
}

/** A range to replace; `whole` when it spans complete lines. */
interface Edit {
  start: number;
  end: number;
  whole: boolean;
  text: string;
}

/** The lines of an earlier block of this kind, or null; a damaged block is a ScanError. */
function findBlock(source: string, object: ExportsObject, spec: BlockSpec): Edit | null {
  const begins = object.allComments.filter((t) => t.text.startsWith(spec.begin));
  const ends = object.allComments.filter((t) => t.text.startsWith(spec.end));
  if (begins.length === 0 && ends.length === 0) return null;
  const damaged = `the "${spec.begin}" … "${spec.end}" lines are damaged; remove them and the lines between`;
  if (begins.length !== 1 || ends.length !== 1 || ends[0].start < begins[0].start) throw new ScanError(damaged, 0);
  if (![begins[0], ends[0]].every((c) => object.comments.includes(c))) throw new ScanError(damaged, 0);
  const start = lineStart(source, begins[0].start);
  const end = lineEnd(source, ends[0].end);
  const straddles = object.properties.some((p) => p.start < end && p.end > start && !(p.start >= start && p.end <= end));
  if (straddles) throw new ScanError(damaged, 0);
  return { start, end, whole: true, text: '' };
}

/** Where a removed property's text goes: its whole lines when it has them to itself. */
function removalRange(source: string, p: ObjectProperty): Edit {
  const end = p.commaEnd ?? p.end;
  const start = lineStart(source, p.start);
  const rest = /^[ \t]*(\/\/[^\n]*)?(\r?\n|$)/.exec(source.slice(end));
  if (/^[ \t]*$/.test(source.slice(start, p.start)) && rest) {
    return { start, end: end + rest[0].length, whole: true, text: '' };
  }
  return { start: p.start, end: end + /^[ \t]*/.exec(source.slice(end))![0].length, whole: false, text: '' };
}

/** Right after `module.exports = {`: the next line when the brace ends its line. */
function insertionPoint(source: string, object: ExportsObject): Edit {
  const after = object.open + 1;
  const rest = /^[ \t]*(\/\/[^\n]*)?\r?\n/.exec(source.slice(after));
  if (rest) return { start: after + rest[0].length, end: after + rest[0].length, whole: true, text: '' };
  return { start: after, end: after, whole: false, text: '' };
}

/** The indentation of the line holding `offset`, or four spaces when it has none. */
function indentOf(source: string, offset: number): string {
  return /^[ \t]*/.exec(source.slice(lineStart(source, offset)))![0] || '    ';
}

function lineStart(source: string, offset: number): number {
  return source.lastIndexOf('\n', offset - 1) + 1;
}

function lineEnd(source: string, offset: number): number {
  const newline = source.indexOf('\n', offset);
  return newline < 0 ? source.length : newline + 1;
}

/**
 * A small JavaScript scanner, enough to edit a Node-RED settings.js without a full parser: it
 * skips strings, template literals (with `${}` nesting), comments and regex literals, matches
 * braces, brackets and parentheses, and finds the properties of the one `module.exports = { … }`
 * object literal. Anything it is not sure about is a ScanError, so the caller can refuse to edit.
 */

/** What kind of source text a token is. */
export type TokenKind = 'ident' | 'punct' | 'op' | 'string' | 'template' | 'regex' | 'number' | 'comment';

/** One token: its kind, its text and where it is in the source (end is exclusive). */
export interface Token {
  kind: TokenKind;
  text: string;
  start: number;
  end: number;
}

/** The scanner met something it cannot follow (unterminated, unbalanced, unexpected). */
export class ScanError extends Error {
  constructor(message: string, readonly offset: number) {
    super(message);
    this.name = 'ScanError';
  }
}

const PUNCT = new Set(['{', '}', '[', ']', '(', ')', ';', ',', ':', '.']);
const OP_CHARS = '=!<>+-*%&|^~?';
const REGEX_AFTER_WORD = new Set([
  'return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case', 'do', 'else', 'yield', 'await',
]);
const NUMBER = /(?:0[xXoObB][\da-fA-F_]+|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?)n?/y;
const IDENT_START = /[\p{ID_Start}$_#]/u;
const IDENT_PART = /[\p{ID_Continue}$\u200c\u200d]/u;

/** The 1-based line of `offset`, for messages. */
export function lineOf(source: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < source.length; i++) if (source[i] === '\n') line++;
  return line;
}

/** Splits `source` into tokens (white space dropped, comments kept); throws ScanError. */
export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  const templates: number[] = []; // open braces inside each `${ … }` being scanned
  let previous: Token | undefined; // the last token that is not a comment
  let i = source.startsWith('#!') ? source.indexOf('\n') + 1 || source.length : 0;
  while (i < source.length) {
    if (/\s/.test(source[i]) || source[i] === '\ufeff') {
      i++;
      continue;
    }
    const [kind, end] = readToken(source, i, previous, templates);
    const token = { kind, text: source.slice(i, end), start: i, end };
    tokens.push(token);
    if (kind !== 'comment') previous = token;
    i = end;
  }
  if (templates.length > 0) throw new ScanError('a template literal `${…}` is not closed', source.length);
  return tokens;
}

/** The kind and end of the token starting at `i` (not white space). */
function readToken(source: string, i: number, previous: Token | undefined, templates: number[]): [TokenKind, number] {
  const c = source[i];
  const next = source[i + 1] ?? '';
  if (c === '/' && next === '/') return ['comment', endOfLine(source, i)];
  if (c === '/' && next === '*') return ['comment', endOfBlockComment(source, i)];
  if (c === '/') return regexAllowed(previous) ? ['regex', endOfRegex(source, i)] : ['op', i + 1];
  if (c === '"' || c === "'") return ['string', endOfString(source, i)];
  if (c === '`') return ['template', endOfTemplatePart(source, i + 1, templates)];
  if (c === '}' && templates.length > 0 && templates[templates.length - 1] === 0) {
    templates.pop();
    return ['template', endOfTemplatePart(source, i + 1, templates)];
  }
  if (PUNCT.has(c) && !(c === '.' && /\d/.test(next))) {
    if (templates.length > 0 && c === '{') templates[templates.length - 1]++;
    if (templates.length > 0 && c === '}') templates[templates.length - 1]--;
    return ['punct', i + 1];
  }
  if (OP_CHARS.includes(c)) {
    let end = i + 1;
    while (end < source.length && OP_CHARS.includes(source[end])) end++;
    return ['op', end];
  }
  if (/[\d.]/.test(c)) {
    NUMBER.lastIndex = i;
    if (!NUMBER.test(source)) throw new ScanError(`cannot read the number at line ${lineOf(source, i)}`, i);
    return ['number', NUMBER.lastIndex];
  }
  if (IDENT_START.test(c)) {
    let end = i + 1;
    while (end < source.length && IDENT_PART.test(source[end])) end++;
    return ['ident', end];
  }
  throw new ScanError(`unexpected character ${JSON.stringify(c)} at line ${lineOf(source, i)}`, i);
}

/** A `/` starts a regex literal unless it follows something that ends an expression. */
function regexAllowed(previous: Token | undefined): boolean {
  if (!previous) return true;
  switch (previous.kind) {
    case 'ident':
      return REGEX_AFTER_WORD.has(previous.text);
    case 'punct':
      return ![')', ']', '}'].includes(previous.text);
    case 'template':
      return previous.text.endsWith('${');
    case 'op':
      return true;
    default:
      return false;
  }
}

function endOfLine(source: string, i: number): number {
  const end = source.indexOf('\n', i);
  return end < 0 ? source.length : end;
}

function endOfBlockComment(source: string, i: number): number {
  const end = source.indexOf('*/', i + 2);
  if (end < 0) throw new ScanError(`the comment at line ${lineOf(source, i)} is not closed`, i);
  return end + 2;
}

function endOfString(source: string, i: number): number {
  const quote = source[i];
  for (let j = i + 1; j < source.length; j++) {
    const c = source[j];
    if (c === '\\') j++;
    else if (c === quote) return j + 1;
    else if (c === '\n') break;
  }
  throw new ScanError(`the string at line ${lineOf(source, i)} is not closed`, i);
}

function endOfRegex(source: string, i: number): number {
  let inClass = false;
  for (let j = i + 1; j < source.length; j++) {
    const c = source[j];
    if (c === '\\') j++;
    else if (c === '\n') break;
    else if (c === '[') inClass = true;
    else if (c === ']') inClass = false;
    else if (c === '/' && !inClass) {
      let end = j + 1;
      while (end < source.length && /[a-z]/i.test(source[end])) end++;
      return end;
    }
  }
  throw new ScanError(`the regular expression at line ${lineOf(source, i)} is not closed`, i);
}

/** Scans template text from `j` to the closing backtick, or to a `${` (then pushed on `templates`). */
function endOfTemplatePart(source: string, j: number, templates: number[]): number {
  for (; j < source.length; j++) {
    const c = source[j];
    if (c === '\\') j++;
    else if (c === '`') return j + 1;
    else if (c === '$' && source[j + 1] === '{') {
      templates.push(0);
      return j + 2;
    }
  }
  throw new ScanError('a template literal is not closed', j);
}

const CLOSERS: Record<string, string> = { '}': '{', ']': '[', ')': '(' };

/** For every opening bracket token (by index), the index of its closing one; throws when unbalanced. */
export function matchBrackets(source: string, tokens: Token[]): Map<number, number> {
  const matches = new Map<number, number>();
  const open: number[] = [];
  tokens.forEach((token, index) => {
    if (token.kind !== 'punct') return;
    if ('{[('.includes(token.text)) open.push(index);
    const opener = CLOSERS[token.text];
    if (!opener) return;
    const top = open.pop();
    if (top === undefined || tokens[top].text !== opener) {
      throw new ScanError(`unbalanced "${token.text}" at line ${lineOf(source, token.start)}`, token.start);
    }
    matches.set(top, index);
  });
  if (open.length > 0) {
    const token = tokens[open[open.length - 1]];
    throw new ScanError(`"${token.text}" at line ${lineOf(source, token.start)} is never closed`, token.start);
  }
  return matches;
}

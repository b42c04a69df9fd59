/**
 * Rewrites the settings `nrcert init` manages in the text of a dotenv file and keeps every
 * other line (comments, blank lines, settings of other tools) exactly as it was.
 */

/** Values safe to write unquoted: dotenv ends an unquoted value at `#` and trims it. */
const PLAIN = /^[A-Za-z0-9_./:@,*+=%~?&!-]*$/;

/** A value as dotenv reads it back unchanged: bare, else single, double or back quotes. */
export function formatEnvValue(value: string): string {
  if (/[\r\n]/.test(value)) throw new Error('a setting cannot span lines');
  if (PLAIN.test(value)) return value;
  for (const quote of ["'", '"', '`']) {
    if (!value.includes(quote)) return `${quote}${value}${quote}`;
  }
  throw new Error('a setting cannot contain all three kinds of quotes');
}

const ASSIGNMENT = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=/;

/**
 * Sets each `updates` name: its first line is replaced in place, later duplicates are dropped
 * (dotenv would ignore them anyway), and names not yet in the file are appended at the end.
 * Multi-line quoted values of managed names are not expected (init never writes them).
 */
export function updateEnvText(text: string, updates: Record<string, string>): string {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text === '' ? [] : text.replace(/\r?\n$/, '').split(/\r?\n/);
  const seen = new Set<string>();
  const out: string[] = [];
  for (const line of lines) {
    const name = ASSIGNMENT.exec(line)?.[1];
    if (name === undefined || !(name in updates)) {
      out.push(line);
    } else if (!seen.has(name)) {
      seen.add(name);
      out.push(`${name}=${formatEnvValue(updates[name])}`);
    }
  }
  const added = Object.keys(updates).filter((name) => !seen.has(name));
  if (added.length > 0) {
    if (out.length > 0 && out[out.length - 1].trim() !== '') out.push('');
    if (lines.length > 0) out.push('# Added by nrcert init');
    for (const name of added) out.push(`${name}=${formatEnvValue(updates[name])}`);
  }
  return out.join(eol) + eol;
}

import { accessSync, constants, realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** What decides how a person runs this nrcert: the search path, this script, node, and npm's exec marker. */
export interface InvocationFacts {
  searchPath: string;
  script: string;
  execPath: string;
  /** npm_command: `exec` under npx / npm exec. */
  npmCommand?: string;
}

/**
 * How hints name this nrcert. `nrcert` when the first `nrcert` on PATH is this very script (after
 * `npm link` or `npm install -g`); `npx nrcert` when run through npx (its PATH is not the
 * shell's); otherwise node and this script's full path, which works from anywhere. The `--`
 * keeps Node 20 from taking the command's own --env-file (nodejs/node#54232).
 */
export function invocationOf(facts: InvocationFacts): string {
  if (facts.npmCommand === 'exec') return 'npx nrcert';
  const script = realpath(facts.script);
  if (script && onPath('nrcert', facts.searchPath) === script) return 'nrcert';
  const node = onPath('node', facts.searchPath) === realpath(facts.execPath) ? 'node' : shellQuote(facts.execPath);
  return `${node} -- ${shellQuote(script ?? facts.script)}`;
}

/** The real path of the first executable `name` in `searchPath`, or undefined. */
function onPath(name: string, searchPath: string): string | undefined {
  for (const dir of searchPath.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return realpath(candidate);
    } catch {
      // not here: the next directory
    }
  }
  return undefined;
}

function realpath(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

/** A path as one shell word. */
function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

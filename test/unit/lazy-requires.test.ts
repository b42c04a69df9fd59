/**
 * deploy/package/lazy-requires.js: each rewrite must find its text exactly once, or the package
 * build stops naming the file (a new version of a library is looked at again, never silently
 * left loading what it loaded before, nor half-rewritten).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { rewrite, checkAllRewritten, REWRITES } = require('../../deploy/package/lazy-requires.js') as {
  rewrite(relative: string, source: string): string;
  checkAllRewritten(seen: Set<string>): void;
  REWRITES: Record<string, [string, string][]>;
};

const NODE_MODULES = join(__dirname, '..', '..', 'node_modules');

test('every rewrite fits the installed version of its library exactly once', () => {
  for (const [relative, pairs] of Object.entries(REWRITES)) {
    const out = rewrite(relative, readFileSync(join(NODE_MODULES, relative), 'utf8'));
    for (const [text, replacement] of pairs) {
      if (replacement) expect(out).toContain(replacement);
      expect(out.includes(text) && !replacement.includes(text)).toBe(false);
    }
  }
});

test('a text that is missing, or there twice, stops the build naming the file and the text', () => {
  const source = readFileSync(join(NODE_MODULES, 'sonic-boom/index.js'), 'utf8');
  const moved = source.replace("const assert = require('assert')", "const assert = require('node:assert')");
  expect(() => rewrite('sonic-boom/index.js', moved)).toThrow(/expects "const assert = require\('assert'\)" once in node_modules\/sonic-boom\/index\.js, found it 0 times/);
  const twice = `${source}\nconst assert = require('assert')\n`;
  expect(() => rewrite('sonic-boom/index.js', twice)).toThrow(/found it 2 times/);
});

test('a file no bundle contained any more is named', () => {
  const seen = new Set(Object.keys(REWRITES).filter((f) => f !== 'dotenv/lib/main.js'));
  expect(() => checkAllRewritten(seen)).toThrow(/rewrites dotenv\/lib\/main\.js, which no vendor bundle contains any more/);
  expect(() => checkAllRewritten(new Set(Object.keys(REWRITES)))).not.toThrow();
});

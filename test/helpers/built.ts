/**
 * Calls a function of the built code (dist/) in a plain node child process. For modules that load
 * execa, an ES module jest's CommonJS sandbox cannot import: the child runs them exactly as nrcert
 * does (`npm test` builds first). Arguments and results travel as JSON; an AbortSignal argument
 * (also inside an options object) is written `{ $signal: true }` and fires when `abort()` is called;
 * a logger is `{ $logger: true }`.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const RUNNER = `
const [file, name, args] = JSON.parse(process.argv[1]);
const controller = new AbortController();
process.stdin.on('data', () => controller.abort());
const quiet = { info() {}, warn() {}, error() {}, debug() {}, trace() {} };
const live = (a) => (a && a.$signal ? controller.signal : a && a.$logger ? quiet
  : a && typeof a === 'object' && !Array.isArray(a) ? Object.fromEntries(Object.entries(a).map(([k, v]) => [k, live(v)])) : a);
const real = args.map(live);
Promise.resolve(require(file)[name](...real)).then(
  (value) => process.stdout.write(JSON.stringify({ value })),
  (err) => process.stdout.write(JSON.stringify({ error: { name: err.name, message: err.message } })),
).finally(() => process.stdin.destroy());
`;

/** What a call of the built code answered: its value, or the error it threw (name and message). */
export type BuiltResult<T> = { value: T; error?: undefined } | { value?: undefined; error: { name: string; message: string } };

/** Starts `name(...args)` of `dist/<module>.js` in a child; `abort()` fires its `{ $signal: true }` argument. */
export function callBuilt<T>(module: string, name: string, args: unknown[]): { done: Promise<BuiltResult<T>>; abort(): void } {
  const file = join(__dirname, '..', '..', 'dist', `${module}.js`);
  const child = spawn(process.execPath, ['-e', RUNNER, JSON.stringify([file, name, args])], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const done = new Promise<BuiltResult<T>>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', () => {
      try {
        resolve(JSON.parse(out) as BuiltResult<T>);
      } catch {
        reject(new Error(`the built ${module}.${name} answered no result: ${out}`));
      }
    });
  });
  return { done, abort: () => child.stdin.write('abort\n') };
}

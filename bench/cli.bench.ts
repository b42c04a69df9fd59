/**
 * Figures for the git checkout (dist/ + node_modules) and the production package
 * (nrcert-<version>.tgz installed offline into a temporary prefix), side by side: install size,
 * cold start of `status` and of `renew` when not due, `renew --force` (a wildcard + apex issuance
 * against local Pebble with PEBBLE_VA_NOSLEEP=1 and the Cloudflare fake) wall time and peak RSS,
 * and an idle `nrcert run`'s VmRSS and Pss. `node -e 0` runs in the same loop as the baseline.
 * Figures only: nothing here asserts anything about time.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, startStack, type Stack } from '../test/helpers/cli';
import { packAndInstall, treeSize, type InstalledPackage } from '../test/helpers/package';
import { makeTempDir, removeTempDir } from '../test/helpers/tmp';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
/** Seconds an idle service runs before it is measured again (V8 shrinks its heap after ~10-20 s idle). */
const SETTLE_S = Number(process.env.BENCH_IDLE_SETTLE ?? 25);
const ROOT = join(__dirname, '..');

let stack: Stack;
let dir: string;
let pkg: InstalledPackage;

beforeAll(async () => {
  dir = await makeTempDir('bench');
  pkg = await packAndInstall(dir);
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
  if (dir) await removeTempDir(dir);
});

type Sample = { ms: number; rssMB: number; code: number | null };
type Variant = { name: string; argv: (args: string[]) => string[] };

/** Runs node with `argv` once, recording wall time and (through maxrss.js) peak RSS. */
async function measure(argv: string[]): Promise<Sample> {
  const rssFile = join(stack.dir, 'rss.txt');
  rmSync(rssFile, { force: true });
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, ['-r', join(__dirname, 'maxrss.js'), ...argv], {
    env: { ...stack.env(), NRCERT_BENCH_RSS: rssFile, LOG_LEVEL: 'warn' },
    cwd: stack.dir,
    stdio: 'ignore',
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const rssMB = Number(readFileSync(rssFile, 'utf8').trim()) / 1024;
  return { ms, rssMB, code };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const out = (line: string) => process.stdout.write(`${line}\n`);

function report(name: string, samples: Sample[]): void {
  const ms = samples.map((s) => s.ms);
  const failed = samples.filter((s) => s.code !== 0).length;
  out(
    `  ${name.padEnd(30)} wall median ${median(ms).toFixed(0).padStart(5)} ms (min ${Math.min(...ms).toFixed(0)}, max ${Math.max(...ms).toFixed(0)})` +
      `  peak RSS median ${median(samples.map((s) => s.rssMB)).toFixed(1)} MB${failed ? `  FAILED=${failed}` : ''}`,
  );
}

/** Each variant of `args` once per round, interleaved with `node -e 0`, RUNS rounds. */
async function compare(title: string, args: string[], variants: Variant[]): Promise<void> {
  const samples = new Map<string, Sample[]>([['node -e 0', []], ...variants.map((v) => [v.name, []] as [string, Sample[]])]);
  for (let i = 0; i < RUNS; i++) {
    samples.get('node -e 0')!.push(await measure(['-e', '0']));
    for (const v of variants) samples.get(v.name)!.push(await measure(v.argv(args)));
  }
  out(`${title} (${RUNS} runs each)`);
  for (const [name, s] of samples) report(name, s);
}

/** VmRSS and Pss (kB → MB) of a running process. */
function memoryOf(pid: number): { rss: number; pss: number; anon: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const field = (text: string, name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN) / 1024;
  return { rss: field(status, 'VmRSS'), pss: field(rollup, 'Pss'), anon: field(rollup, 'Pss_Anon') };
}

/**
 * An idle process (no renewal running: the first check is an hour away), measured at 3 s and once
 * settled. VmRSS counts the node binary's pages a process has touched (ICU, V8's compilers),
 * which every Node process on the machine shares (Node-RED too); Pss divides them among those.
 */
async function idle(name: string, argv: string[], env: Record<string, string> = {}): Promise<void> {
  const child = spawn(process.execPath, argv, {
    env: { ...stack.env(), RENEW_START_DELAY: '3600', LOG_LEVEL: 'warn', ...env },
    cwd: stack.dir,
    stdio: 'ignore',
  });
  await new Promise((r) => setTimeout(r, 3000));
  const early = memoryOf(child.pid!);
  await new Promise((r) => setTimeout(r, (SETTLE_S - 3) * 1000));
  const settled = memoryOf(child.pid!);
  child.kill('SIGTERM');
  await new Promise((r) => child.on('close', r));
  const f = (m: { rss: number; pss: number; anon: number }) => `RSS ${m.rss.toFixed(1)} MB, Pss ${m.pss.toFixed(1)} MB (anon ${m.anon.toFixed(1)})`;
  out(`  ${name.padEnd(36)} at 3 s: ${f(early)}   at ${SETTLE_S} s: ${f(settled)}`);
}

test('figures', async () => {
  const pkgEntry = join(pkg.root, 'dist', 'cli', 'index.js');
  const git: Variant = { name: 'git checkout (dist/)', argv: (args) => [CLI, ...args] };
  const packaged: Variant = { name: 'package (installed .tgz)', argv: (args) => [pkgEntry, ...args] };
  const variants = [git, packaged];

  const checkout = treeSize(join(ROOT, 'node_modules'));
  const built = treeSize(join(ROOT, 'dist'));
  out('');
  out('install size');
  out(`  git checkout: node_modules + dist   ${((checkout.bytes + built.bytes) / 1e6).toFixed(1)} MB, ${checkout.files + built.files} files (dev dependencies included)`);
  out(`  package: installed                  ${(pkg.bytes / 1e6).toFixed(2)} MB, ${pkg.files} files (.tgz ${(statSync(pkg.tgz).size / 1e6).toFixed(2)} MB)`);

  await compare('nrcert renew --force (issuance)', ['renew', '--force'], variants);
  await compare('nrcert renew (not due)', ['renew'], variants);
  await compare('nrcert status', ['status'], variants);

  out(`idle nrcert run (VmRSS; Pss from /proc/PID/smaps_rollup)`);
  await idle('node (resident, nothing loaded)', ['-e', 'setInterval(() => {}, 1000)']);
  await idle('git checkout: nrcert run', [CLI, 'run']);
  await idle('package: nrcert run', [pkgEntry, 'run']);
  // deploy/systemd/nrcert.service's ExecStart: --no-maglev from the command line, so it also
  // covers Node's own start-up (nrcert sets the compiler flags itself from its first statement).
  // Started without it (the rows above), `nrcert run` starts itself once more with it on Node
  // >= 22.15 (process.execve, src/cli/index.ts): there this row and the one above match.
  await idle('package: systemd unit ExecStart', ['--no-maglev', pkgEntry, 'run']);
  // With the Node-RED editor's folder in use: the service publishes status.json (which parses
  // the certificate: node:crypto) and watches the spool.
  await idle('package: ExecStart, EDITOR_DIR in use', ['--no-maglev', pkgEntry, 'run'], { EDITOR_DIR: join(stack.dir, 'editor-bench') });
});

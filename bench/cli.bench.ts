/**
 * Prints wall time and peak RSS of the real CLI: one wildcard + apex issuance against local
 * Pebble (PEBBLE_VA_NOSLEEP=1) with the Cloudflare fake, and `nrcert status`. Figures only.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, startStack, type Stack } from '../test/helpers/cli';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

type Sample = { ms: number; rssMB: number; code: number | null };

/** Runs the CLI once (asynchronously: the Cloudflare fake answers from this process). */
async function measure(args: string[], env: Record<string, string>): Promise<Sample> {
  const rssFile = join(stack.dir, 'rss.txt');
  rmSync(rssFile, { force: true });
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, ['-r', join(__dirname, 'maxrss.js'), CLI, ...args], {
    env: { ...env, NRCERT_BENCH_RSS: rssFile, LOG_LEVEL: 'warn' },
    cwd: stack.dir,
    stdio: 'ignore',
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const rssMB = Number(readFileSync(rssFile, 'utf8').trim()) / 1024;
  return { ms, rssMB, code };
}

async function repeat(args: string[]): Promise<Sample[]> {
  const samples: Sample[] = [];
  for (let i = 0; i < RUNS; i++) samples.push(await measure(args, stack.env()));
  return samples;
}

function report(name: string, samples: Sample[]): void {
  const ms = samples.map((s) => s.ms).sort((a, b) => a - b);
  const rss = samples.map((s) => s.rssMB).sort((a, b) => a - b);
  const median = (xs: number[]) => xs[Math.floor(xs.length / 2)];
  const failed = samples.filter((s) => s.code !== 0).length;
  process.stdout.write(
    `${name.padEnd(34)} runs=${samples.length} wall median=${median(ms).toFixed(0)} ms min=${ms[0].toFixed(0)} ms max=${ms[ms.length - 1].toFixed(0)} ms ` +
      `peak RSS median=${median(rss).toFixed(1)} MB max=${rss[rss.length - 1].toFixed(1)} MB${failed ? ` FAILED=${failed}` : ''}\n`,
  );
}

test('figures', async () => {
  const baseline = Array.from({ length: RUNS }, () => {
    const started = process.hrtime.bigint();
    spawnSync(process.execPath, ['-e', '0']);
    return Number(process.hrtime.bigint() - started) / 1e6;
  }).sort((a, b) => a - b);
  process.stdout.write(`\nnode -e 0 (baseline)                wall median=${baseline[Math.floor(RUNS / 2)].toFixed(0)} ms\n`);
  report('nrcert renew --force (issuance)', await repeat(['renew', '--force']));
  report('nrcert renew (not due)', await repeat(['renew']));
  report('nrcert status', await repeat(['status']));
  report('nrcert status --json', await repeat(['status', '--json']));
  await idleService();
});

/** RSS of an idle `nrcert run` (no renewal running), read from /proc after it settles. */
async function idleService(): Promise<void> {
  const child = spawn(process.execPath, [CLI, 'run'], {
    env: { ...stack.env(), RENEW_START_DELAY: '3600', LOG_LEVEL: 'warn' },
    cwd: stack.dir,
    stdio: 'ignore',
  });
  const samples: number[] = [];
  for (let i = 0; i < 6; i++) {
    await new Promise((r) => setTimeout(r, 500));
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    samples.push(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) / 1024);
  }
  const peak = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1]) / 1024;
  child.kill('SIGTERM');
  await new Promise((r) => child.on('close', r));
  process.stdout.write(`${'nrcert run (idle service)'.padEnd(34)} RSS after 3 s=${samples[samples.length - 1].toFixed(1)} MB peak=${peak.toFixed(1)} MB\n`);
}

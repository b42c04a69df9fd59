/**
 * What the idle `nrcert run` keeps loaded, after its first check has run (a real renewal against
 * Pebble in a child): no ICU date formatter (node-cron's are made from Date's getters,
 * src/service/local-time.ts: ≈ 7 MB of resident memory), and neither the ACME library nor the
 * Cloudflare SDK (they live in the renewal child only), nor the Node built-ins it has no use
 * for: every built-in loaded stays resident (on Node 22/24 crypto, assert, worker_threads and
 * fs/promises with readline cost ≈ 3-4 MB together). Behaviour, not a number: the figures are
 * printed by bench/cli.bench.ts.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, collectOutput, startStack, stopCli, type Stack } from '../helpers/cli';
import { waitFor } from '../helpers/wait';

/** The CLI under test is the installed package (NRCERT_TEST_BIN, see README "Development"). */
const PACKAGE = Boolean(process.env.NRCERT_TEST_BIN);
let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

const PROBE = join(__dirname, '..', 'helpers', 'idle-probe.js');
type Probe = { execArgv: string[]; formatters: number; dateFormatting: string[]; modules: string[]; builtins: string[] };

/**
 * Runs `nrcert run` with idle-probe.js (and `preloads` before it) until `until` shows in its
 * stderr, stops it (it must exit 0) and returns its stderr and what the probe recorded.
 */
async function runService(name: string, vars: Record<string, string>, until: { pattern: RegExp; what: string; ms: number }, preloads: string[] = []): Promise<{ stderr: string; probe: Probe }> {
  const report = join(stack.dir, `${name}.json`);
  const env = stack.env({ ...vars, NRCERT_IDLE_PROBE: report });
  const service = collectOutput(
    spawn(process.execPath, [...preloads.flatMap((p) => ['-r', p]), '-r', PROBE, '--', CLI, 'run'], { env, cwd: stack.dir, stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  let stderr = '';
  service.child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    await waitFor(() => until.pattern.test(stderr), until.ms, { what: until.what });
  } finally {
    expect((await stopCli(service)).code).toBe(0);
  }
  // By pid: the service that started itself again (process.execve) kept its pid.
  return { stderr, probe: JSON.parse(readFileSync(`${report}.${service.child.pid}`, 'utf8')) as Probe };
}

test('after its first check the idle service has made no ICU date formatter and loads no ACME or Cloudflare code and no built-in it has no use for', async () => {
  const { stderr, probe } = await runService('idle-probe', { RENEW_START_DELAY: '0' }, { pattern: /renewal check finished/, what: 'the first renewal check to finish', ms: 60_000 });
  // The check really ran (and renewed): the service scheduled node-cron and spawned its child.
  expect(stderr).toMatch(/nrcert service started/);
  const { execArgv, formatters, dateFormatting, modules, builtins } = probe;
  // Started without --no-maglev, it started itself once more with it, in place (the report is
  // its pid's): Node 24 has Maglev-compiled one function before nrcert's first statement. Node 20
  // has no process.execve (and no such compilation), so there it runs as started.
  expect(execArgv).toEqual([...(typeof (process as { execve?: unknown }).execve === 'function' ? ['--no-maglev'] : []), '-r', PROBE]);
  expect(modules.some((m) => /node-cron/.test(m))).toBe(true);
  expect(formatters).toBe(0);
  // Nor a Date formatted by V8 (its first toISOString reads ICU's zone names: src/util/iso-time.ts).
  expect(dateFormatting).toEqual([]);
  // The libraries (checkout: node_modules; package: vendor/) and nrcert's Cloudflare client; the
  // provider's settings reader (dns/cloudflare/config) is part of loading the configuration.
  expect(modules.filter((m) => /node_modules[\\/](acme-client|cloudflare|node-forge|@peculiar)[\\/]|[\\/]vendor[\\/](acme-client|cloudflare|node-forge|peculiar-x509)\.js$|[\\/]dns[\\/]cloudflare[\\/](provider|sdk|token-check)\.js$/.test(m))).toEqual([]);
  // From the package, nrcert's own code comes from one pack made for the service alone
  // (deploy/package/pack-folders.js, RESIDENT), not from the packs of every command's folder.
  if (PACKAGE) {
    expect(modules.filter((m) => /[\\/]dist[\\/].*modules\.js$/.test(m)).map((m) => m.replace(/^.*[\\/]dist[\\/]/, ''))).toEqual(['resident-modules.js']);
  }
  // nrcert's own resident code (store/lock, store/atomic) never loads fs/promises (and readline
  // with it). The package's bundles of pino, dotenv and node-cron load crypto, assert and worker
  // threads only on paths nrcert never takes (deploy/package/lazy-requires.js); a git checkout
  // runs those libraries from node_modules as published, which load all three at start.
  expect(builtins).toContain('child_process');
  const unused = ['fs/promises', 'readline', ...(PACKAGE ? ['crypto', 'assert', 'worker_threads'] : [])];
  expect(builtins.filter((b) => unused.includes(b))).toEqual([]);
}, 90_000);

test('when Node refuses to start it again with --no-maglev, the service runs on as it was started; its clock at a terminal formats no Date through V8', async () => {
  const refusing = join(stack.dir, 'refusing-execve.js');
  // process.execve as Node refuses it before the system call (the permission model: it throws;
  // also on Node 20, which has none). A failed execve(2) itself aborts before Node 26, which
  // nrcert avoids by trying only an executable node binary (src/cli/index.ts).
  writeFileSync(refusing, "process.execve = () => { throw Object.assign(new Error('Access to this API has been restricted'), { code: 'ERR_ACCESS_DENIED' }); };\n");
  // LOG_FORMAT=human outside the journal: short lines with a clock, as at a terminal.
  const { stderr, probe } = await runService('idle-probe-noexec', { RENEW_START_DELAY: '3600', LOG_FORMAT: 'human' }, { pattern: /nrcert service started/, what: 'the service to start', ms: 20_000 }, [refusing]);
  expect(probe.execArgv).not.toContain('--no-maglev');
  expect(stderr).not.toMatch(/ERR_ACCESS_DENIED|restricted/);
  expect(stderr).toMatch(/^\d\d:\d\d:\d\d INFO  nrcert service started/m);
  expect(probe.dateFormatting).toEqual([]);
}, 60_000);

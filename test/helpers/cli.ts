/**
 * Runs the built nrcert CLI (dist/cli/index.js, or the installed package's `nrcert` named by
 * NRCERT_TEST_BIN) as a child process, the way a user does, against
 * a Pebble + challtestsrv + Cloudflare-fake stack started for the test file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startCloudflareFake, type CloudflareFake } from '../fakes/cloudflare-api';
import { startPebble, type PebbleEnv, type PebbleOptions } from './pebble';
import { makeTempDir, removeTempDir } from './tmp';

/**
 * The CLI under test: the built entry point, or NRCERT_TEST_BIN (e.g. PREFIX/bin/nrcert of
 * `npm install -g --prefix PREFIX ./nrcert-<version>.tgz`) to run the tests against the package;
 * a link is resolved to the file it points at, as Node itself does.
 */
export const CLI = process.env.NRCERT_TEST_BIN ? realpathSync(resolve(process.env.NRCERT_TEST_BIN)) : join(__dirname, '..', '..', 'dist', 'cli', 'index.js');

/**
 * How the CLI's hints name it (a regular expression's source): `nrcert` when it is on PATH, else
 * node (or its full path) with `--` and the CLI's full path, as cli/invocation.ts decides.
 */
export const CLI_HINT = `(?:nrcert|\\S*node -- ${CLI.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')})`;

/** A token value that must never appear in any output. */
export const SENTINEL_TOKEN = 'sentinel-TOKEN-3f9c2a71d0b84e65-do-not-log';

/** What one CLI run printed and how it ended. */
export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Everything one test file needs: the servers, a scratch dir, and the environment for the CLI. */
export interface Stack {
  pebble: PebbleEnv;
  fake: CloudflareFake;
  dir: string;
  zoneId: string;
  /** Environment for a CLI run: the real settings a user would have, pointed at the stack. */
  env(overrides?: Record<string, string | undefined>): Record<string, string>;
  stop(): Promise<void>;
}

/** The fake's zones unless told: example.test (zoneId), other.test, blocked.test. */
const STACK_ZONES = ['example.test', 'other.test', 'blocked.test'];

/** Starts Pebble, challtestsrv and the Cloudflare fake (zone example.test first, unless `zones` says) for one test file. */
export async function startStack(opts: PebbleOptions = {}, tokens?: Parameters<typeof startCloudflareFake>[0]['tokens'], zones = STACK_ZONES): Promise<Stack> {
  const pebble = await startPebble(opts);
  let started: CloudflareFake | undefined;
  try {
    const fake = await startCloudflareFake({
      zones: zones.map((name) => ({ name })),
      tokens: tokens ?? { [SENTINEL_TOKEN]: {} },
      challtestsrvManagementUrl: pebble.challtestsrvUrl,
    });
    started = fake;
    const dir = await makeTempDir('nrcert-cli-');
    const base: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: dir,
      NODE_EXTRA_CA_CERTS: pebble.caCertPath,
      DOMAINS: 'example.test,*.example.test',
      ACME_DIRECTORY: pebble.directoryUrl,
      CLOUDFLARE_API_TOKEN: SENTINEL_TOKEN,
      CLOUDFLARE_BASE_URL: fake.baseURL,
      DNS_RESOLVERS: pebble.dnsResolver,
      DNS_PROPAGATION_TIMEOUT: '10',
      CERT_DIR: join(dir, 'certs'),
      STATE_DIR: join(dir, 'state'),
      LOG_LEVEL: 'debug',
    };
    return {
      pebble,
      fake,
      dir,
      zoneId: fake.zones[0].id,
      env(overrides = {}) {
        const env = { ...base, ...overrides };
        return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as Record<string, string>;
      },
      async stop() {
        await fake.stop();
        await pebble.stop();
        await removeTempDir(dir);
      },
    };
  } catch (err) {
    // The caller gets no stack to stop: stop what did start, or Pebble outlives the test run.
    await started?.stop();
    await pebble.stop();
    throw err;
  }
}

/**
 * SIGTERMs a CLI run started by startCli (unless it has ended) and waits until it has exited;
 * SIGKILL after `graceMs`, so a run that ignores SIGTERM fails its test instead of outliving it.
 */
export async function stopCli(cli: { child: ChildProcess; done: Promise<CliResult> }, graceMs = 15_000): Promise<CliResult> {
  if (cli.child.exitCode !== null || cli.child.signalCode !== null) return cli.done;
  cli.child.kill('SIGTERM');
  const timer = setTimeout(() => cli.child.kill('SIGKILL'), graceMs);
  try {
    return await cli.done;
  } finally {
    clearTimeout(timer);
  }
}

/** Starts `nrcert args…` and returns the child and a promise of its result. */
export function startCli(args: string[], env: Record<string, string>, cwd: string): { child: ChildProcess; done: Promise<CliResult> } {
  return collectOutput(spawn(process.execPath, ['--', CLI, ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** A started child (stdout and stderr piped) and the promise of its exit code, signal and output. */
export function collectOutput(child: ChildProcess): { child: ChildProcess; done: Promise<CliResult> } {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

/** Runs `nrcert args…` to completion. */
export function runCli(args: string[], env: Record<string, string>, cwd: string): Promise<CliResult> {
  return startCli(args, env, cwd).done;
}

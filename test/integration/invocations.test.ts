/**
 * Every way the README runs nrcert from a clone, on the Node running the tests (`.ci/run` runs the
 * suite on Node 20, 22 and 24): `npx nrcert …` in the checkout, `nrcert …` on PATH through a real
 * `npm link` (into a scratch prefix), and `node …/dist/cli/index.js …`, each with `--env-file F`.
 *
 * A probe preloaded through NODE_OPTIONS records which node ran the CLI, so a form that quietly
 * ran another Node (a `node` elsewhere on PATH) fails. Node itself also reads an `--env-file`
 * that follows the script name, up to a `--`, and exits 9 when that file does not exist
 * (nodejs/node#54232, unchanged in 22 and 24): the bin's shebang passes `--`, `npx` and a plain
 * `node dist/cli/index.js` do not. These cases pin that down, as the README describes it.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { CliResult } from '../helpers/cli';
import { makeTempDir, removeTempDir } from '../helpers/tmp';

const ROOT = resolve(__dirname, '..', '..');
const ENTRY = join(ROOT, 'dist', 'cli', 'index.js');

let dir: string;
let envFile: string;
let missing: string;
let probeLog: string;
let env: Record<string, string>;

/** Runs `command args…` in `cwd` with the test environment (plus `extra`), never through a shell. */
function run(command: string, args: string[], cwd = dir, extra: Record<string, string> = {}): Promise<CliResult> {
  writeFileSync(probeLog, '');
  return new Promise((done) => {
    execFile(command, args, { cwd, env: { ...env, ...extra }, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      done({ code, signal: (err?.signal as NodeJS.Signals | undefined) ?? null, stdout, stderr });
    });
  });
}

/** The nodes (execPath) that ran nrcert's entry point during the last run. */
function nodesThatRanNrcert(): string[] {
  return readFileSync(probeLog, 'utf8').split('\n').filter(Boolean)
    .map((line) => line.split('\t') as [string, string])
    .filter(([, script]) => script !== '' && existsSync(script) && realpathSync(script) === ENTRY)
    .map(([execPath]) => realpathSync(execPath));
}

/** `status --json` read the settings from envFile, and this very node ran it. */
function expectStatusFromEnvFile(result: CliResult): void {
  expect(result.stderr).not.toMatch(/not found|error/i);
  expect(result.code).toBe(0);
  expect(JSON.parse(result.stdout)).toMatchObject({ certDir: join(dir, 'from-env-file', 'certs'), certificates: [] });
  expect(nodesThatRanNrcert()).toEqual([realpathSync(process.execPath)]);
}

/** nrcert itself refused the missing file: its own message and exit 3, not Node's exit 9. */
function expectNrcertRefusedMissing(result: CliResult): void {
  expect(result.code).toBe(3);
  expect(result.stderr).toContain(`--env-file: ${missing} does not exist`);
}

/** Node took the script's --env-file for its own option (nodejs/node#54232): exit 9, nrcert never ran. */
function expectNodeRefusedMissing(result: CliResult): void {
  expect(result.code).toBe(9);
  expect(result.stderr).toContain(`${missing}: not found`);
  expect(nodesThatRanNrcert()).toEqual([]);
}

beforeAll(async () => {
  dir = await makeTempDir('invocations');
  envFile = join(dir, 'nrcert.env');
  missing = join(dir, 'no-such.env');
  probeLog = join(dir, 'probe.log');
  writeFileSync(envFile, `CERT_DIR=${join(dir, 'from-env-file', 'certs')}\nSTATE_DIR=${join(dir, 'from-env-file', 'state')}\n`);
  const probe = join(dir, 'probe.js');
  writeFileSync(probe, `require('fs').appendFileSync(${JSON.stringify(probeLog)}, process.execPath + '\\t' + (process.argv[1] || '') + '\\n');\n`);
  mkdirSync(join(dir, 'prefix'));
  env = {
    // This node first: it is the one every form must end up running.
    PATH: [dirname(process.execPath), join(dir, 'prefix', 'bin'), process.env.PATH ?? '/usr/bin:/bin'].join(':'),
    HOME: dir,
    NODE_OPTIONS: `--require ${probe}`,
    npm_config_prefix: join(dir, 'prefix'),
    // The user's npm cache, as for a user's npx: a fresh one costs npx ~10 s here on its first run.
    npm_config_cache: process.env.npm_config_cache ?? join(homedir(), '.npm'),
    npm_config_offline: 'true',
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
  };
});

afterAll(() => removeTempDir(dir));

describe(`on Node ${process.versions.node}`, () => {
  test('npx nrcert in the checkout reads --env-file F; a missing F is refused by Node (exit 9), NRCERT_ENV_FILE by nrcert (exit 3)', async () => {
    expectStatusFromEnvFile(await run('npx', ['nrcert', 'status', '--json', '--env-file', envFile], ROOT));
    expectNodeRefusedMissing(await run('npx', ['nrcert', 'status', '--env-file', missing], ROOT));
    const viaVariable = await run('npx', ['nrcert', 'status'], ROOT, { NRCERT_ENV_FILE: missing });
    expect(viaVariable.code).toBe(3);
    expect(viaVariable.stderr).toContain(`NRCERT_ENV_FILE: ${missing} does not exist`);
  }, 120_000);

  test('nrcert on PATH through npm link runs the bin, whose shebang keeps --env-file for nrcert', async () => {
    const linked = await run('npm', ['link', '--ignore-scripts'], ROOT);
    expect(linked.code).toBe(0);
    const bin = join(dir, 'prefix', 'bin', 'nrcert');
    expect(realpathSync(bin)).toBe(ENTRY);
    expectStatusFromEnvFile(await run('nrcert', ['status', '--json', '--env-file', envFile]));
    expectNrcertRefusedMissing(await run('nrcert', ['status', '--env-file', missing]));
    expectNrcertRefusedMissing(await run(ENTRY, ['status', '--env-file', missing]));
  }, 120_000);

  test('node …/dist/cli/index.js reads --env-file F; a missing F is refused by Node (exit 9) unless `node --` comes first', async () => {
    expectStatusFromEnvFile(await run(process.execPath, [ENTRY, 'status', '--json', '--env-file', envFile]));
    expectNodeRefusedMissing(await run(process.execPath, [ENTRY, 'status', '--env-file', missing]));
    expectNrcertRefusedMissing(await run(process.execPath, ['--', ENTRY, 'status', '--env-file', missing]));
  });
});

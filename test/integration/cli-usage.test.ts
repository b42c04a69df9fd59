/**
 * The CLI explaining itself, run as the built CLI in an empty scratch folder with a clean
 * environment: the version, help per command, misplaced options and unknown commands (exit 2),
 * what it says when no settings exist, the names of a CN-only certificate, and hints that work
 * as printed whether or not `nrcert` is on PATH.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileCertStore } from '../../src/store/cert-dir';
import { CLI, runCli, type CliResult } from '../helpers/cli';
import { makeTempDir, removeTempDir } from '../helpers/tmp';

const VERSION = (JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
const COMMANDS = ['init', 'renew', 'run', 'status', 'rollback', 'doctor', 'settings', 'editor', 'help', 'version'];

let dir: string;
/** A PATH holding node but no nrcert. */
let barePath: string;
/** A PATH whose `nrcert` is this CLI, as `npm link` makes it. */
let linkedPath: string;
beforeAll(async () => {
  dir = await makeTempDir('cli-usage');
  const nodeBin = join(dir, 'node-bin');
  const linkBin = join(dir, 'link-bin');
  mkdirSync(nodeBin);
  mkdirSync(linkBin);
  symlinkSync(process.execPath, join(nodeBin, 'node'));
  symlinkSync(CLI, join(linkBin, 'nrcert'));
  barePath = `${nodeBin}:/usr/bin:/bin`;
  linkedPath = `${linkBin}:${barePath}`;
});
afterAll(() => removeTempDir(dir));

/** Runs the CLI in `cwd` (default: an empty folder) with only PATH and HOME set, plus `env`. */
async function nrcert(args: string[], env: Record<string, string> = {}, cwd?: string): Promise<CliResult> {
  const home = cwd ?? (await makeTempDir('cli-usage-home'));
  return runCli(args, { PATH: barePath, HOME: home, ...env }, home);
}

describe('version', () => {
  test.each([['--version'], ['-v'], ['version']])('nrcert %s prints the version alone', async (arg) => {
    const result = await nrcert([arg]);
    expect(result).toMatchObject({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
  });
});

describe('help', () => {
  test('nrcert help lists every command', async () => {
    const result = await nrcert(['help']);
    expect(result.code).toBe(0);
    for (const command of COMMANDS) expect(result.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
  });

  test.each(COMMANDS)('nrcert help %s and nrcert %s --help print that command\'s usage and options', async (command) => {
    const viaHelp = await nrcert(['help', command]);
    const viaFlag = await nrcert([command, '--help']);
    expect(viaHelp.code).toBe(0);
    expect(viaHelp.stdout).toMatch(new RegExp(`^Usage: nrcert ${command}\\b`));
    expect(viaFlag).toEqual(viaHelp);
    // Only this command's usage: no other command's line.
    expect(viaHelp.stdout).not.toMatch(/^Usage: nrcert <command>/m);
  });

  test('each command\'s help names exactly its own options', async () => {
    expect((await nrcert(['help', 'renew'])).stdout).toMatch(/--force[\s\S]*--dry-run[\s\S]*--scheduled[\s\S]*--env-file PATH/);
    expect((await nrcert(['help', 'rollback'])).stdout).toMatch(/--to ID/);
    expect((await nrcert(['help', 'settings'])).stdout).toMatch(/--apply[\s\S]*--settings PATH[\s\S]*--refresh-minutes N/);
    expect((await nrcert(['help', 'init'])).stdout).toMatch(/--non-interactive[\s\S]*--token-file F[\s\S]*--no-service/);
    const status = (await nrcert(['status', '-h'])).stdout;
    expect(status).toMatch(/--json/);
    expect(status).not.toMatch(/--force|--no-service|--apply/);
  });

  test('help for a command that does not exist is a usage error', async () => {
    const result = await nrcert(['help', 'frobnicate']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown command "frobnicate"/);
  });
});

describe('usage errors exit 2 and say what is wrong', () => {
  test.each([
    [['status', '--force'], /--force is not an option of nrcert status \(it is one of nrcert renew\)/],
    [['status', '--no-service'], /--no-service is not an option of nrcert status \(it is one of nrcert init\)/],
    [['renew', '--to', 'x'], /--to is not an option of nrcert renew \(it is one of nrcert rollback\)/],
  ])('%j names the command and lists its options', async (args, message) => {
    const result = await nrcert(args);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(new RegExp(`nrcert ${args[0]} takes: .*--env-file PATH`));
  });

  test('an option no command has', async () => {
    const result = await nrcert(['renew', '--frobnicate']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown option --frobnicate; nrcert renew takes: --force, --dry-run, --scheduled, --doctor, --env-file PATH/);
  });

  test('an unknown command names the commands there are', async () => {
    const result = await nrcert(['frobnicate']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/unknown command "frobnicate"; the commands are init, renew, run, status, rollback, doctor, settings/);
  });

  test('an argument a command does not take', async () => {
    const result = await nrcert(['renew', 'force']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/nrcert renew takes no arguments/);
  });
});

describe('no settings found', () => {
  test('renew names the .env it looked for and suggests nrcert init (exit 3)', async () => {
    const home = await makeTempDir('cli-usage-empty');
    const result = await nrcert(['renew'], {}, home);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(`no settings found: ${join(home, '.env')} does not exist`);
    expect(result.stderr).toMatch(/NRCERT_ENV_FILE is not set/);
    expect(result.stderr).toMatch(/index\.js init/);
    expect(result.stderr).not.toMatch(/DOMAINS is empty|CLOUDFLARE_API_TOKEN is not set/);
  });

  test('status with nothing configured points at init, and at renew once DOMAINS is set', async () => {
    const home = await makeTempDir('cli-usage-status');
    const empty = await nrcert(['status'], { PATH: linkedPath }, home);
    expect(empty.code).toBe(0);
    expect(empty.stdout).toMatch(/No certificate is installed in .*\.node-red\/certs/);
    expect(empty.stdout).toContain(`No settings found (${join(home, '.env')} does not exist)`);
    expect(empty.stdout).toMatch(/Run: nrcert init\n$/);
    const configured = await nrcert(['status'], { PATH: linkedPath, DOMAINS: 'example.test' }, home);
    expect(configured.stdout).toMatch(/No certificate is installed in .*\. Run: nrcert renew\n$/);
  });
});

describe('hints work as printed', () => {
  /** The command after "run " in an unknown-command error, run through a shell with `path`. */
  async function followHelpHint(path: string): Promise<{ hint: string; ran: ReturnType<typeof spawnSync> }> {
    const result = await nrcert(['frobnicate'], { PATH: path });
    const hint = /; run (.+ help)$/m.exec(result.stderr)?.[1] ?? '';
    const ran = spawnSync('/bin/sh', ['-c', hint], { env: { PATH: path, HOME: dir }, cwd: dir, encoding: 'utf8' });
    return { hint, ran };
  }

  test('with this nrcert on PATH (npm link), hints say nrcert', async () => {
    const { hint, ran } = await followHelpHint(linkedPath);
    expect(hint).toBe('nrcert help');
    expect(ran.status).toBe(0);
    expect(ran.stdout).toMatch(/^Usage: nrcert <command>/);
  });

  test('without nrcert on PATH, hints name node and the full path of this CLI', async () => {
    const { hint, ran } = await followHelpHint(barePath);
    expect(hint).toBe(`node -- ${CLI} help`);
    expect(ran.status).toBe(0);
    expect(ran.stdout).toMatch(/^Usage: nrcert <command>/);
  });

  test('through npm link\'s two links (bin -> global package -> checkout), hints still say nrcert', async () => {
    const globalDir = join(dir, 'global');
    const globalBin = join(dir, 'global-bin');
    mkdirSync(globalDir);
    mkdirSync(globalBin);
    symlinkSync(join(CLI, '..', '..', '..'), join(globalDir, 'nrcert'));
    symlinkSync(join(globalDir, 'nrcert', 'dist', 'cli', 'index.js'), join(globalBin, 'nrcert'));
    const { hint, ran } = await followHelpHint(`${globalBin}:${barePath}`);
    expect(hint).toBe('nrcert help');
    expect(ran.status).toBe(0);
  });

  test('under npx, hints say npx nrcert', async () => {
    const result = await nrcert(['frobnicate'], { npm_command: 'exec' });
    expect(result.stderr).toMatch(/; run npx nrcert help$/m);
  });

  test('another nrcert on PATH is not this one: hints name this CLI', async () => {
    const otherBin = join(dir, 'other-bin');
    mkdirSync(otherBin, { recursive: true });
    writeFileSync(join(otherBin, 'nrcert'), '#!/bin/sh\nexit 42\n', { mode: 0o755 });
    const { hint, ran } = await followHelpHint(`${otherBin}:${barePath}`);
    expect(hint).toBe(`node -- ${CLI} help`);
    expect(ran.status).toBe(0);
  });
});

describe('a certificate with only a subject CN (imported, no subjectAltName)', () => {
  test('status shows the CN as its name', async () => {
    const home = await makeTempDir('cli-usage-cn');
    const certDir = join(home, 'certs');
    mkdirSync(certDir);
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30',
      '-subj', '/CN=legacy.example', '-keyout', 'privkey.pem', '-out', 'cert.pem'], { cwd: certDir, stdio: 'pipe' });
    expect(execFileSync('openssl', ['x509', '-in', 'cert.pem', '-noout', '-text'], { cwd: certDir, encoding: 'utf8' })).not.toMatch(/Subject Alternative Name/);
    writeFileSync(join(certDir, 'chain.pem'), '');
    writeFileSync(join(certDir, 'fullchain.pem'), readFileSync(join(certDir, 'cert.pem')));
    const env = { CERT_DIR: certDir, STATE_DIR: join(home, 'state'), DOMAINS: 'legacy.example' };
    const text = await nrcert(['status'], env, home);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^ {2}Names: +legacy\.example$/m);
    const json = await nrcert(['status', '--json'], env, home);
    expect((JSON.parse(json.stdout) as { certificates: { names: string[] }[] }).certificates[0].names).toEqual(['legacy.example']);

    // A real certificate installed over it keeps it as a lineage: rolling back to it names it too.
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30',
      '-subj', '/CN=new.example', '-addext', 'subjectAltName=DNS:new.example', '-keyout', 'new.key', '-out', 'new.pem'], { cwd: home, stdio: 'pipe' });
    const cert = readFileSync(join(home, 'new.pem'), 'utf8');
    await new FileCertStore(certDir).install({ privkey: readFileSync(join(home, 'new.key'), 'utf8'), cert, chain: '', fullchain: cert });
    const lineages = (JSON.parse((await nrcert(['status', '--json'], env, home)).stdout) as { lineages: { id: string }[] }).lineages;
    const current = (await nrcert(['status'], env, home)).stdout;
    expect(current).toMatch(/^ {2}Names: +new\.example$/m);
    const legacy = lineages.find((l) => !current.includes(`Live:         ${l.id}`))!;
    const rolled = await nrcert(['rollback', '--to', legacy.id], env, home);
    expect(rolled.stdout).toMatch(new RegExp(`^Rolled back: ${certDir} holds ${legacy.id}, legacy\\.example, valid until`));
  });
});

/**
 * `nrcert init` with CNAME delegation, against Pebble, challtestsrv (`/set-cname`) and the
 * Cloudflare fake with a token allowed on acme-zone.test only: a CNAME found is explained and
 * accepted (the token is checked in the target's zone); `--delegate-to` prints the exact record and
 * waits for it (interactive) or refuses without it (non-interactive); a token that cannot see the
 * domain's zone is offered delegation.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'dotenv';
import { CLI, collectOutput, runCli, SENTINEL_TOKEN, startStack, type Stack } from '../helpers/cli';
import { makeTempDir, removeTempDir } from '../helpers/tmp';
import { waitFor } from '../helpers/wait';

const NAME = '_acme-challenge.example.test';
const TARGET = '_acme-challenge.acme-zone.test';
const RECORD = `${NAME}.  CNAME  ${TARGET}.`;
let stack: Stack;
const homes: string[] = [];

beforeAll(async () => {
  stack = await startStack({}, { [SENTINEL_TOKEN]: { zones: ['acme-zone.test'] } }, ['example.test', 'acme-zone.test']);
}, 60_000);
afterAll(async () => {
  await stack?.stop();
  await Promise.all(homes.map((h) => removeTempDir(h)));
});
afterEach(async () => {
  await challtestsrv('/clear-cname', { host: `${NAME}.` });
  expect(stack.fake.records()).toEqual([]);
});

async function challtestsrv(path: string, body: Record<string, string>): Promise<void> {
  const res = await fetch(`${stack.pebble.challtestsrvUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`challtestsrv ${path}: HTTP ${res.status}`);
}

/** A home with an empty Node-RED user dir (no settings.js: nothing to edit there) and the token in a file. */
async function home(): Promise<string> {
  const dir = await makeTempDir('init-cname');
  homes.push(dir);
  mkdirSync(join(dir, '.node-red'));
  writeFileSync(join(dir, 'token'), `${SENTINEL_TOKEN}\n`, { mode: 0o600 });
  return dir;
}

function args(dir: string, extra: string[] = []): string[] {
  return ['init', '--domain', 'example.test', '--token-file', join(dir, 'token'), '--node-red-dir', join(dir, '.node-red'), '--restart', 'none',
    '--notify-url=-', '--email=-', '--yes', '--skip-dry-run', '--no-service',
    '--acme-directory', stack.pebble.directoryUrl, '--dns-resolvers', stack.pebble.dnsResolver, '--cloudflare-base-url', stack.fake.baseURL, ...extra];
}

function env(dir: string): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, NODE_EXTRA_CA_CERTS: stack.pebble.caCertPath };
}

describe('nrcert init with CNAME delegation', () => {
  test('--delegate-to without the CNAME (non-interactive): prints the exact record to create, exit 5, nothing written', async () => {
    const dir = await home();
    const result = await runCli([...args(dir, ['--delegate-to', 'acme-zone.test']), '--non-interactive'], env(dir), dir);
    expect(result.code).toBe(5);
    expect(result.stdout).toContain(`CNAME delegation: create this record at the DNS host of example.test`);
    expect(result.stdout).toContain(`\n  ${RECORD}\n`);
    expect(result.stdout).toContain('The token then needs Zone:Read and DNS:Edit on acme-zone.test only; it need not see example.test at all.');
    expect(result.stdout).toContain(`[FAILED] ${NAME} is not a CNAME to ${TARGET} yet: create the record above`);
    expect(existsSync(join(dir, '.env'))).toBe(false);
  }, 60_000);

  test('--delegate-to, interactive: waits for Enter, finds the CNAME created meanwhile, checks the token in acme-zone.test, writes .env and renews', async () => {
    const dir = await home();
    const child = spawn(process.execPath, ['--', CLI, ...args(dir, ['--delegate-to', 'acme-zone.test'])], { env: env(dir), cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
    const run = collectOutput(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => out.includes('then press Enter'), 30_000, { what: 'the prompt to create the CNAME' });
    await challtestsrv('/set-cname', { host: `${NAME}.`, target: `${TARGET}.` });
    child.stdin!.end('\n');
    const result = await run.done;
    expect(result.stdout).toContain(`[ok] ${NAME} → ${TARGET}: CNAME delegation. The records go at ${TARGET}, so the token needs Zone:Read and DNS:Edit on its zone only`);
    expect(result.stdout).toContain('[ok] the token can see the zone acme-zone.test (Zone:Read)');
    expect(result.stdout).toContain('[ok] the token can create and delete TXT records in acme-zone.test (DNS:Edit)');
    expect(parse(readFileSync(join(dir, '.env'))).DOMAINS).toBe('example.test,*.example.test');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Certificate for example.test, *.example.test installed in');
    expect(existsSync(join(dir, '.node-red', 'certs', 'fullchain.pem'))).toBe(true);
    expect(`${result.stdout}${result.stderr}`).not.toContain(SENTINEL_TOKEN);
  }, 120_000);

  test('a token that cannot see the domain\'s zone, and no CNAME: delegation is offered, exit 5', async () => {
    const dir = await home();
    const result = await runCli([...args(dir), '--non-interactive'], env(dir), dir);
    expect(result.code).toBe(5);
    expect(result.stdout).toContain('[FAILED] the token cannot see a Cloudflare zone holding example.test');
    expect(result.stdout).toContain(`Least privilege: a token can be limited to another (throwaway) zone instead, with a CNAME from ${NAME} into it.`);
    expect(result.stdout).toMatch(/init --delegate-to <that zone> prints the exact record to create/);
    expect(existsSync(join(dir, '.env'))).toBe(false);
  }, 60_000);

  test('the same token with the CNAME in place (no --delegate-to): explained and accepted', async () => {
    const dir = await home();
    await challtestsrv('/set-cname', { host: `${NAME}.`, target: `${TARGET}.` });
    const result = await runCli([...args(dir), '--non-interactive'], env(dir), dir);
    expect(result.stdout).toContain(`[ok] ${NAME} → ${TARGET}: CNAME delegation.`);
    expect(result.stdout).toContain(`can it create and delete a TXT record at ${TARGET}`);
    expect(result.stdout).toContain('[ok] the token can create and delete TXT records in acme-zone.test (DNS:Edit)');
    expect(result.code).toBe(0);
    expect(existsSync(join(dir, '.env'))).toBe(true);
  }, 120_000);
});

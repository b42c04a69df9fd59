/**
 * `nrcert init` driven as a person would: through a pseudo-terminal (hidden token input, Ctrl-C
 * from the terminal) or as a script, against Pebble, challtestsrv and the Cloudflare fake. Checks
 * what a user would notice: a working certificate and a private .env at the end of the happy
 * path; the missing permission named, and nothing written, for a token without DNS:Edit;
 * nothing written and no record left after Ctrl-C at a prompt or during the token check.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { parse } from 'dotenv';
import { appendFileSync, chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { CLI, runCli, SENTINEL_TOKEN, startStack, type CliResult, type Stack } from '../helpers/cli';
import { runInPty, type PtyStep } from '../helpers/pty';
import { makeTempDir, removeTempDir } from '../helpers/tmp';
import { waitFor } from '../helpers/wait';

const NO_EDIT_TOKEN = 'sentinel-NO-DNS-EDIT-8a7b6c5d4e3f2a1b-do-not-log';
const TOKEN_PAGE = 'https://dash.cloudflare.com/profile/api-tokens';
const ROOT = join(__dirname, '..', '..');
let stack: Stack;
/** The home the happy path set up, re-run in the next test. */
let configured: string | undefined;
const homes: string[] = [];

beforeAll(async () => {
  stack = await startStack({}, { [SENTINEL_TOKEN]: {}, [NO_EDIT_TOKEN]: { dnsEdit: false } });
});
afterAll(async () => {
  await stack?.stop();
  await Promise.all(homes.map((home) => removeTempDir(home)));
});
afterEach(() => {
  expect(stack.fake.records()).toEqual([]);
});

/** A fresh home with a Node-RED user dir holding Node-RED's default settings.js. */
async function freshHome(): Promise<string> {
  const home = await makeTempDir('init');
  homes.push(home);
  mkdirSync(join(home, '.node-red'));
  copyFileSync(join(ROOT, 'node_modules', 'node-red', 'settings.js'), join(home, '.node-red', 'settings.js'));
  return home;
}

/** What a user's shell would have: no nrcert settings, only the test CA for Pebble's HTTPS. */
function userEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, NODE_EXTRA_CA_CERTS: stack.pebble.caCertPath, TERM: 'xterm', ...extra };
}

/** The pass-through flags that point init at Pebble, challtestsrv and the fake. */
function stackFlags(baseURL = stack.fake.baseURL): string[] {
  return ['--acme-directory', stack.pebble.directoryUrl, '--dns-resolvers', stack.pebble.dnsResolver, '--cloudflare-base-url', baseURL];
}

describe('nrcert init', () => {
  test('interactive, in a terminal: ends with an installed certificate, settings.js applied and a 0600 .env; the token is never shown', async () => {
    const home = await freshHome();
    const root = process.getuid?.() === 0;
    const steps: PtyStep[] = [
      { expect: 'Your domain', send: 'example.test\r' },
      { expect: 'Cloudflare API token: $', send: `${SENTINEL_TOKEN}\r` },
      { expect: `Found a Node-RED directory: ${home}/.node-red[^\\n]*\\n[^\\n]*Node-RED user directory[^:]*: `, send: '\r' },
      { expect: 'Restart \\[none\\]: ', send: '\r' },
      { expect: 'Notification URL[^:]*: ', send: '\r' },
      { expect: 'E-mail[^:]*: ', send: 'admin@example.test\r' },
      { expect: 'Apply this change[^\\n]*\\[y/N\\]: ', send: 'y\r' },
      ...(root ? [{ expect: 'Install the nrcert service[^\\n]*\\[y/N\\]: ', send: 'y\r' }] : []),
      { expect: 'Done\\.', send: '' },
    ];
    const envFile = join(home, '.env');
    mkdirSync(join(home, 'systemd'));
    const result = await runInPty(
      // No --env-file: Node 20 itself exits 9 when a script argument --env-file names a missing file (nodejs/node#54232).
      [process.execPath, CLI, 'init', ...stackFlags()],
      userEnv(home, { NRCERT_SYSTEMD_DIR: join(home, 'systemd') }), home, steps, 40_000,
    );
    if (result.failedStep !== null || result.code !== 0) throw new Error(`init failed at step ${result.failedStep}, exit ${result.code}:\n${result.output}`);
    expect(result.output).not.toContain(SENTINEL_TOKEN);
    expect(result.output).toMatch(/\[ok\] the token can create and delete TXT records in example\.test \(DNS:Edit\)/);
    expect(result.output).toMatch(/Dry run succeeded/);

    const cert = new X509Certificate(readFileSync(join(home, '.node-red', 'certs', 'fullchain.pem')));
    expect(cert.subjectAltName).toBe('DNS:example.test, DNS:*.example.test');
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    const env = readFileSync(envFile, 'utf8');
    expect(env).toMatch(new RegExp(`^CLOUDFLARE_API_TOKEN=${SENTINEL_TOKEN}$`, 'm'));
    expect(env).toMatch(/^DOMAINS=example\.test,\*\.example\.test$/m);
    expect(env).toMatch(/^ACME_EMAIL=admin@example\.test$/m);
    expect(env).toContain(`CERT_DIR=${home}/.node-red/certs`);
    expect(readFileSync(join(home, '.node-red', 'settings.js'), 'utf8')).toContain('// nrcert: begin');
    configured = home;
    if (root) {
      const unit = readFileSync(join(home, 'systemd', 'nrcert.service'), 'utf8');
      expect(unit).toContain(`ExecStart=${process.execPath} ${CLI} run`);
      expect(unit).toContain(`EnvironmentFile=${envFile}`);
    } else {
      expect(result.output).toContain('systemctl enable --now nrcert');
    }
  }, 50_000);

  test('re-run on that machine, answering from a script: Enter keeps every answer and the token, only the changed e-mail is rewritten', async () => {
    const home = configured!;
    const envFile = join(home, '.env');
    appendFileSync(envFile, '# my own note\nOTHER_TOOL=1\n');
    const before = parse(readFileSync(envFile));
    const child = spawn(process.execPath, [CLI, 'init', '--skip-dry-run', '--no-service'], { cwd: home, env: userEnv(home), stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin!.end('\n\n\n\n\nnew@example.test\nn\n');
    const result = await collect(child);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Cloudflare API token [keep current token ********]: ');
    expect(result.stdout).toContain('; set ACME_EMAIL.');
    expect(result.stdout).toMatch(/not due for renewal until/);
    expect(`${result.stdout}${result.stderr}`).not.toContain(SENTINEL_TOKEN);
    const text = readFileSync(envFile, 'utf8');
    expect(parse(text)).toEqual({ ...before, ACME_EMAIL: 'new@example.test' });
    expect(text).toContain('# my own note\nOTHER_TOOL=1\n');
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
  });

  (process.getuid?.() === 0 ? test : test.skip)('sudo init --non-interactive into pi\'s Node-RED directory: CERT_DIR and the key belong to pi, then Done', async () => {
    const home = await freshHome();
    chmodSync(home, 0o755);
    const nodeRedDir = join(home, 'pi', '.node-red');
    mkdirSync(nodeRedDir, { recursive: true });
    copyFileSync(join(ROOT, 'node_modules', 'node-red', 'settings.js'), join(nodeRedDir, 'settings.js'));
    for (const path of [join(home, 'pi'), nodeRedDir, join(nodeRedDir, 'settings.js')]) chownSync(path, 4242, 4242);
    writeFileSync(join(home, 'token'), `${SENTINEL_TOKEN}\n`, { mode: 0o600 });
    const result = await runCli(
      ['init', '--non-interactive', '--domain', 'example.test', '--token-file', join(home, 'token'), '--node-red-dir', nodeRedDir,
        '--yes', '--skip-dry-run', '--no-service', ...stackFlags()],
      userEnv(home), home,
    );
    expect(result.stdout).toContain('Done.');
    expect(result.code).toBe(0);
    const certDir = join(nodeRedDir, 'certs');
    const key = realpathSync(join(certDir, 'privkey.pem'));
    expect([statSync(certDir).uid, statSync(key).uid, statSync(key).mode & 0o777]).toEqual([4242, 4242, 0o600]);
  });

  test('a token without DNS:Edit: the missing permission and the token page are named, exit 5, nothing written', async () => {
    const home = await freshHome();
    writeFileSync(join(home, 'token'), `${NO_EDIT_TOKEN}\n`, { mode: 0o600 });
    const result = await runCli(
      ['init', '--non-interactive', '--domain', 'example.test', '--token-file', join(home, 'token'), '--yes', ...stackFlags()],
      userEnv(home), home,
    );
    expect(result.code).toBe(5);
    expect(result.stdout).toContain('[FAILED] the token lacks DNS:Edit on example.test');
    expect(result.stdout).toContain(TOKEN_PAGE);
    expect(result.stdout).toContain('nothing was written');
    expect(`${result.stdout}${result.stderr}`).not.toContain(NO_EDIT_TOKEN);
    expect(existsSync(join(home, '.env'))).toBe(false);
    expect(readFileSync(join(home, '.node-red', 'settings.js'), 'utf8')).not.toContain('nrcert');
  });

  test.each([
    ['the hidden token prompt (raw mode)', [{ expect: 'Your domain', send: 'example.test\r' }, { expect: 'Cloudflare API token: $', ctrlc: true }]],
    ['the Node-RED directory prompt', [
      { expect: 'Your domain', send: 'example.test\r' }, { expect: 'Cloudflare API token: $', send: `${SENTINEL_TOKEN}\r` },
      { expect: 'Node-RED user directory[^:]*: ', ctrlc: true },
    ]],
  ] as Array<[string, PtyStep[]]>)('Ctrl-C at %s: exit 130, no .env', async (_where, steps) => {
    const home = await freshHome();
    const result = await runInPty([process.execPath, CLI, 'init', ...stackFlags()], userEnv(home), home, steps);
    expect(result.failedStep).toBeNull();
    expect(result.code).toBe(130);
    expect(result.output).toContain('Interrupted: nothing was written.');
    expect(result.output).not.toContain(SENTINEL_TOKEN);
    expect(existsSync(join(home, '.env'))).toBe(false);
  });

  test('SIGINT while the canary record is being created: it is removed before exit 130, no .env', async () => {
    const home = await freshHome();
    writeFileSync(join(home, 'token'), SENTINEL_TOKEN, { mode: 0o600 });
    const proxy = await slowCreateProxy(stack.fake.baseURL, 1000);
    let child: ChildProcess | undefined;
    let done: Promise<CliResult> | undefined;
    try {
      child = spawn(process.execPath, [CLI, 'init', '--non-interactive', '--domain', 'example.test', '--token-file', join(home, 'token'),
        ...stackFlags(proxy.baseURL)], { cwd: home, env: userEnv(home), stdio: ['ignore', 'pipe', 'pipe'] });
      done = collect(child);
      await waitFor(() => stack.fake.records().some((r) => r.type === 'TXT' && r.content.includes('nrcert-canary-')), 30_000,
        { what: 'the canary TXT record at the Cloudflare fake' });
      child.kill('SIGINT');
      const result = await done;
      expect(result.code).toBe(130);
      expect(result.stdout).toContain('Interrupted: removing the test TXT record first');
      expect(result.stdout).toContain('Interrupted: nothing was written.');
      expect(stack.fake.requests.at(-1)).toMatchObject({ method: 'DELETE', status: 200 });
      expect(existsSync(join(home, '.env'))).toBe(false);
    } finally {
      // Whatever failed, the init run must not outlive this test.
      if (child && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const kill = setTimeout(() => child?.kill('SIGKILL'), 5000);
        await done;
        clearTimeout(kill);
      }
      await new Promise((resolve) => proxy.server.close(resolve));
    }
  }, 60_000);
});

/** A proxy in front of the fake that holds back the answer to a record create (the record exists by then). */
async function slowCreateProxy(target: string, delayMs: number): Promise<{ server: Server; baseURL: string }> {
  const upstream = new URL(target);
  const server = createServer((req, res) => {
    const up = request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (c: Buffer) => chunks.push(c));
      answer.on('end', () => {
        const delay = req.method === 'POST' && req.url?.includes('/dns_records') ? delayMs : 0;
        setTimeout(() => {
          res.writeHead(answer.statusCode ?? 500, answer.headers);
          res.end(Buffer.concat(chunks));
        }, delay);
      });
    });
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}${upstream.pathname}` };
}

function collect(child: ReturnType<typeof spawn>): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

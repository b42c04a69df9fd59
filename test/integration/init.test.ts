/**
 * `nrcert init` driven as a person would: through a pseudo-terminal (hidden token and password
 * input, Ctrl-C from the terminal) or as a script, against Pebble, challtestsrv, the Cloudflare
 * fake and a real Node-RED (restarted through test/helpers/restart-nodered.js). Checks what a user
 * would notice: a wrong token asked again alone; a login the editor's admin API and an http-in
 * endpoint enforce (bcrypt checked by Node-RED itself); Node-RED restarted once and serving the
 * installed certificate; doctor green; a re-run that changes nothing; the password nowhere but as
 * its hash; the missing permission named, and nothing written, for a token without DNS:Edit;
 * nothing written and no record left after Ctrl-C at a prompt or during the token check.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { parse } from 'dotenv';
import { appendFileSync, chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { request as httpsRequestRaw } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { CLI, runCli, SENTINEL_TOKEN, startStack, type CliResult, type Stack } from '../helpers/cli';
import { prepareUserDir, startNodeRed, type NodeRedInstance } from '../helpers/nodered';
import { freePort } from '../helpers/ports';
import { runInPty, type PtyStep } from '../helpers/pty';
import { makeTempDir, removeTempDir } from '../helpers/tmp';
import { waitFor } from '../helpers/wait';

const NO_EDIT_TOKEN = 'sentinel-NO-DNS-EDIT-8a7b6c5d4e3f2a1b-do-not-log';
const TOKEN_PAGE = 'https://dash.cloudflare.com/profile/api-tokens';
/** The login password typed into init: it must appear nowhere but as its bcrypt hash. */
const PASSWORD = 'pw-SENTINEL-7e1f0c3b9a-never-shown';
const ROOT = join(__dirname, '..', '..');
let stack: Stack;
/** The home the happy path set up, re-run in the next test. */
let configured: { home: string; nodeRed: NodeRedInstance } | undefined;
const nodeReds: NodeRedInstance[] = [];
const homes: string[] = [];

beforeAll(async () => {
  stack = await startStack({}, { [SENTINEL_TOKEN]: {}, [NO_EDIT_TOKEN]: { dnsEdit: false } });
});
afterAll(async () => {
  await Promise.all(nodeReds.map((n) => n.stop()));
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
  test('interactive, in a terminal, with a real Node-RED: a wrong token is asked again alone; a login is set; Node-RED is restarted once and serves the certificate; the password is nowhere', async () => {
    const home = await freshHome();
    const nodeRed = await startPlainNodeRed(join(home, '.node-red'));
    const restart = nodeRed.restartCommand.join(' ');
    const steps: PtyStep[] = [
      { expect: 'Your domain[^\\n]*ns\\.cloudflare\\.com[^\\n]*: ', send: 'example.test\r' },
      { expect: 'Cloudflare API token: $', send: `${NO_EDIT_TOKEN}\r` },
      // The check runs at once, the missing permission is named, and only the token is asked again.
      { expect: '\\[FAILED\\] the token lacks DNS:Edit on example\\.test[\\s\\S]*Cloudflare API token: $', send: `${SENTINEL_TOKEN}\r` },
      { expect: `Found a Node-RED directory: ${home}/.node-red[^\\n]*\\n[^\\n]*Node-RED user directory[^:]*: `, send: '\r' },
      { expect: 'Restart \\[none\\]: ', send: `${restart}\r` },
      { expect: 'Notification URL[^:]*: ', send: '\r' },
      { expect: 'E-mail for the ACME account[^:]*: ', send: 'admin@example.test\r' },
      { expect: 'Apply this change[^\\n]*\\[y/N\\]: ', send: 'y\r' },
      { expect: 'login for the Node-RED editor[^\\n]*\\[Y/n\\]: ', send: '\r' },
      { expect: 'User name \\[admin\\]: ', send: '\r' },
      { expect: 'Password \\(hidden[^:]*: $', send: `${PASSWORD}\r` },
      { expect: 'Password again: $', send: 'not-the-same-one\r' },
      { expect: 'do not match[\\s\\S]*Password \\(hidden[^:]*: $', send: `${PASSWORD}\r` },
      { expect: 'Password again: $', send: `${PASSWORD}\r` },
      { expect: 'dashboard and http-in nodes[^\\n]*\\[Y/n\\]: ', send: 'y\r' },
      { expect: 'Restarting Node-RED once[\\s\\S]*Node-RED serves the new certificate', send: '' },
      ...(process.getuid?.() === 0 ? [{ expect: 'Install the nrcert service[^\\n]*\\[y/N\\]: ', send: 'n\r' }] : []),
      { expect: 'Done\\.', send: '' },
    ];
    const envFile = join(home, '.env');
    mkdirSync(join(home, 'systemd'));
    const result = await runInPty(
      // No --env-file: Node 20 itself exits 9 when a script argument --env-file names a missing file (nodejs/node#54232).
      [process.execPath, CLI, 'init', ...stackFlags()],
      userEnv(home, { NRCERT_SYSTEMD_DIR: join(home, 'systemd') }), home, steps, 80_000,
    );
    if (result.failedStep !== null || result.code !== 0) throw new Error(`init failed at step ${result.failedStep}, exit ${result.code}:\n${result.output}`);
    expect(result.output).not.toContain(SENTINEL_TOKEN);
    expect(result.output).not.toContain(NO_EDIT_TOKEN);
    expect(result.output).not.toContain(PASSWORD);
    expect(result.output).toMatch(/\[ok\] the token can create and delete TXT records in example\.test \(DNS:Edit\)/);
    // The dry run is one progress line and its outcome, not the renew child's log lines.
    expect(result.output).toMatch(/Dry run succeeded/);
    expect(result.output).not.toMatch(/acme\/order|"level"|"msg"/);
    expect(result.output).toContain(`checks after every renewal that Node-RED at ${nodeRed.url} serves the new certificate`);
    // Restarted exactly once, by the chosen command, and now serving the installed certificate over TLS.
    expect(nodeRed.state().generation).toBe(2);
    const installed = new X509Certificate(readFileSync(join(home, '.node-red', 'certs', 'fullchain.pem')));
    expect(installed.subjectAltName).toBe('DNS:example.test, DNS:*.example.test');
    expect((await nodeRed.servedCertificate('example.test')).fingerprint256).toBe(installed.fingerprint256);

    // The editor's admin API: 401 without a login, 200 with a token for the password (bcrypt checked by Node-RED).
    expect((await httpsRequest(`${nodeRed.url}/flows`)).status).toBe(401);
    const login = await httpsRequest(`${nodeRed.url}/auth/token`, {
      method: 'POST', body: { client_id: 'node-red-admin', grant_type: 'password', scope: '*', username: 'admin', password: PASSWORD },
    });
    expect(login.status).toBe(200);
    const bearer = { authorization: `Bearer ${(JSON.parse(login.body) as { access_token: string }).access_token}` };
    expect((await httpsRequest(`${nodeRed.url}/flows`, { headers: bearer })).status).toBe(200);
    const wrong = await httpsRequest(`${nodeRed.url}/auth/token`, {
      method: 'POST', body: { client_id: 'node-red-admin', grant_type: 'password', scope: '*', username: 'admin', password: 'wrong-password' },
    });
    expect(wrong.status).not.toBe(200);
    // httpNodeAuth on the http-in endpoint of the flow: 401 without, 200 with basic auth.
    expect((await httpsRequest(`${nodeRed.url}/hello`)).status).toBe(401);
    const basic = { authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` };
    expect((await httpsRequest(`${nodeRed.url}/hello`, { headers: basic })).status).toBe(200);

    const env = parse(readFileSync(envFile));
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    expect(env).toMatchObject({
      CLOUDFLARE_API_TOKEN: SENTINEL_TOKEN, DOMAINS: 'example.test,*.example.test', ACME_EMAIL: 'admin@example.test',
      CERT_DIR: `${home}/.node-red/certs`, RESTART_COMMAND: restart, NODE_RED_URL: nodeRed.url,
    });
    const settings = readFileSync(join(home, '.node-red', 'settings.js'), 'utf8');
    expect(settings).toContain('// nrcert: begin');
    expect(settings).toMatch(/password: "\$2[aby]\$08\$[./A-Za-z0-9]{53}"/);
    // The password is in no file under the home (settings.js holds only its bcrypt hash), nor in Node-RED's log.
    expect(filesContaining(home, PASSWORD)).toEqual([]);
    // The service unit is not written into the checkout.
    expect(existsSync(join(ROOT, 'nrcert.service'))).toBe(false);
    expect(existsSync(join(home, 'nrcert.service'))).toBe(false);
    configured = { home, nodeRed };

    // doctor is green right after init: the login is set and Node-RED serves the certificate.
    const doctor = await runCli(['doctor', '--env-file', envFile], userEnv(home), home);
    expect(doctor.stdout).toMatch(/No check failed/);
    expect(doctor.stdout).toMatch(/security\.adminAuth +the editor asks for a login/);
    expect(doctor.stdout).toMatch(/nodered +Node-RED at https:\/\/127\.0\.0\.1:\d+ serves the installed certificate/);
    expect(doctor.code).toBe(0);
  }, 100_000);

  test('re-run on that machine: Enter keeps every answer; nothing is offered again, nothing changes, Node-RED is not restarted; then only a changed e-mail is rewritten', async () => {
    const { home, nodeRed } = configured!;
    const envFile = join(home, '.env');
    const settingsPath = join(home, '.node-red', 'settings.js');
    appendFileSync(envFile, '# my own note\nOTHER_TOOL=1\n');
    const [envBefore, settingsBefore, generation] = [readFileSync(envFile, 'utf8'), readFileSync(settingsPath, 'utf8'), nodeRed.state().generation];
    const again = await runScripted(home, ['--skip-dry-run', '--no-service'], '\n\n\n\n\n\n');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('Cloudflare API token [keep current token ********]: ');
    expect(again.stdout).toContain('; nothing changed.');
    expect(again.stdout).not.toMatch(/Apply this change|login for the Node-RED editor/);
    expect(again.stdout).toMatch(/not due for renewal until/);
    expect(again.stdout).toContain('Node-RED serves the new certificate');
    expect(readFileSync(envFile, 'utf8')).toBe(envBefore);
    expect(readFileSync(settingsPath, 'utf8')).toBe(settingsBefore);
    expect(nodeRed.state().generation).toBe(generation);

    const before = parse(envBefore);
    const email = await runScripted(home, ['--skip-dry-run', '--no-service'], '\n\n\n\n\nnew@example.test\n');
    expect(email.code).toBe(0);
    expect(email.stdout).toContain('; set ACME_EMAIL.');
    expect(`${again.stdout}${again.stderr}${email.stdout}${email.stderr}`).not.toContain(SENTINEL_TOKEN);
    const text = readFileSync(envFile, 'utf8');
    expect(parse(text)).toEqual({ ...before, ACME_EMAIL: 'new@example.test' });
    expect(text).toContain('# my own note\nOTHER_TOOL=1\n');
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    expect(nodeRed.state().generation).toBe(generation);
  }, 60_000);

  test('interactive, no restart method: init names the restart to do, waits for Enter, then sees Node-RED serve the certificate', async () => {
    const home = await freshHome();
    const nodeRed = await startPlainNodeRed(join(home, '.node-red'));
    const steps: PtyStep[] = [
      { expect: 'Your domain[^:]*: ', send: 'example.test\r' },
      { expect: 'Cloudflare API token: $', send: `${SENTINEL_TOKEN}\r` },
      { expect: 'Node-RED user directory[^:]*: ', send: '\r' },
      { expect: 'Restart \\[none\\]: ', send: '\r' },
      { expect: 'Notification URL[^:]*: ', send: '\r' },
      { expect: 'E-mail for the ACME account[^:]*: ', send: '\r' },
      { expect: 'Apply this change[^\\n]*\\[y/N\\]: ', send: 'y\r' },
      { expect: 'login for the Node-RED editor[^\\n]*\\[Y/n\\]: ', send: 'n\r' },
      // The person restarts Node-RED as told (here: the test's supervisor), then presses Enter.
      { expect: 'Restart Node-RED now so that it reads the changed settings\\.js: [^\\n]+\\n[\\s\\S]*Press Enter once Node-RED is restarted[^:]*: ', send: '\r', run: nodeRed.restartCommand },
      { expect: 'Node-RED serves the new certificate', send: '' },
      ...(process.getuid?.() === 0 ? [{ expect: 'Install the nrcert service[^\\n]*\\[y/N\\]: ', send: 'n\r' }] : []),
      { expect: 'Done\\.', send: '' },
    ];
    const result = await runInPty([process.execPath, CLI, 'init', '--skip-dry-run', ...stackFlags()], userEnv(home, { NRCERT_SYSTEMD_DIR: join(home, 'systemd') }), home, steps, 60_000);
    if (result.failedStep !== null || result.code !== 0) throw new Error(`init failed at step ${result.failedStep}, exit ${result.code}:\n${result.output}`);
    expect(result.output).not.toMatch(/Restarting Node-RED once/);
    expect(nodeRed.state().generation).toBe(2);
    const installed = new X509Certificate(readFileSync(join(home, '.node-red', 'certs', 'fullchain.pem')));
    expect((await nodeRed.servedCertificate('example.test')).fingerprint256).toBe(installed.fingerprint256);
    expect(parse(readFileSync(join(home, '.env'))).RESTART_COMMAND).toBe('none');
  }, 70_000);

  test('--non-interactive with --token-file, --admin-user, --admin-password-file and --node-auth: the token file is referenced, not copied; the login works; Node-RED serves the certificate', async () => {
    const home = await freshHome();
    const nodeRed = await startPlainNodeRed(join(home, '.node-red'));
    writeFileSync(join(home, 'token'), `${SENTINEL_TOKEN}\n`, { mode: 0o600 });
    writeFileSync(join(home, 'password'), `${PASSWORD}\n`, { mode: 0o600 });
    const result = await runCli(
      ['init', '--non-interactive', '--domain', 'example.test', '--token-file', join(home, 'token'), '--restart', nodeRed.restartCommand.join(' '),
        '--admin-user', 'ops', '--admin-password-file', join(home, 'password'), '--node-auth', '--yes', '--skip-dry-run', '--no-service', ...stackFlags()],
      userEnv(home), home,
    );
    if (result.code !== 0) throw new Error(`exit ${result.code}:\n${result.stdout}\n${result.stderr}`);
    expect(`${result.stdout}${result.stderr}`).not.toContain(PASSWORD);
    const env = parse(readFileSync(join(home, '.env')));
    expect(env.CLOUDFLARE_API_TOKEN_FILE).toBe(join(home, 'token'));
    expect(env.CLOUDFLARE_API_TOKEN ?? '').toBe('');
    expect(readFileSync(join(home, '.env'), 'utf8')).not.toContain(SENTINEL_TOKEN);
    const installed = new X509Certificate(readFileSync(join(home, '.node-red', 'certs', 'fullchain.pem')));
    expect((await nodeRed.servedCertificate('example.test')).fingerprint256).toBe(installed.fingerprint256);
    expect(nodeRed.state().generation).toBe(2);
    expect((await httpsRequest(`${nodeRed.url}/flows`)).status).toBe(401);
    expect((await httpsRequest(`${nodeRed.url}/hello`)).status).toBe(401);
    const basic = { authorization: `Basic ${Buffer.from(`ops:${PASSWORD}`).toString('base64')}` };
    expect((await httpsRequest(`${nodeRed.url}/hello`, { headers: basic })).status).toBe(200);
    expect(filesContaining(home, PASSWORD)).toEqual([join(home, 'password')]);
  }, 60_000);

  test('no restart method, no Node-RED answering: the exact restart command is printed, the wait is bounded and named, exit 12', async () => {
    const home = await freshHome();
    const port = await freePort();
    const settingsPath = join(home, '.node-red', 'settings.js');
    writeFileSync(settingsPath, readFileSync(settingsPath, 'utf8').replace('uiPort: process.env.PORT || 1880,', `uiPort: ${port},`).replace('//uiHost: "127.0.0.1",', 'uiHost: "127.0.0.1",'));
    writeFileSync(join(home, 'token'), `${SENTINEL_TOKEN}\n`, { mode: 0o600 });
    writeFileSync(join(home, '.env'), 'NODE_RED_VERIFY_TIMEOUT=2\n', { mode: 0o600 });
    const result = await runCli(
      ['init', '--non-interactive', '--domain', 'example.test', '--token-file', join(home, 'token'), '--restart', 'none', '--yes', '--skip-dry-run', '--no-service', ...stackFlags()],
      userEnv(home), home,
    );
    expect(result.stdout).toMatch(/Restart Node-RED now so that it reads the changed settings\.js: .*(node-red-restart|systemctl restart nodered|docker restart|node-red)/);
    expect(result.stdout).toContain(`Node-RED at https://127.0.0.1:${port} did not serve the new certificate within 2 s (NODE_RED_VERIFY_TIMEOUT)`);
    expect(result.stdout).not.toContain('Done.');
    expect(result.code).toBe(12);
  }, 60_000);

  (process.getuid?.() === 0 ? test : test.skip)('sudo init --non-interactive into pi\'s Node-RED directory: CERT_DIR and the key belong to pi, then Done', async () => {
    const home = await freshHome();
    chmodSync(home, 0o755);
    const nodeRedDir = join(home, 'pi', '.node-red');
    mkdirSync(nodeRedDir, { recursive: true });
    const nodeRed = await startPlainNodeRed(nodeRedDir);
    for (const path of [join(home, 'pi'), nodeRedDir, join(nodeRedDir, 'settings.js')]) chownSync(path, 4242, 4242);
    writeFileSync(join(home, 'token'), `${SENTINEL_TOKEN}\n`, { mode: 0o600 });
    const result = await runCli(
      ['init', '--non-interactive', '--domain', 'example.test', '--token-file', join(home, 'token'), '--node-red-dir', nodeRedDir,
        '--restart', nodeRed.restartCommand.join(' '), '--yes', '--skip-dry-run', '--no-service', ...stackFlags()],
      userEnv(home), home,
    );
    expect(result.stdout).toContain('Done.');
    expect(result.code).toBe(0);
    const certDir = join(nodeRedDir, 'certs');
    const key = realpathSync(join(certDir, 'privkey.pem'));
    expect([statSync(certDir).uid, statSync(key).uid, statSync(key).mode & 0o777]).toEqual([4242, 4242, 0o600]);
    expect((await nodeRed.servedCertificate('example.test')).fingerprint256).toBe(new X509Certificate(readFileSync(join(certDir, 'fullchain.pem'))).fingerprint256);
  }, 60_000);

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

/**
 * Node-RED's default settings.js in `userDir` with uiHost 127.0.0.1 and uiPort set to a free port
 * (so init derives NODE_RED_URL from it), a flow with an http-in node at /hello, and a real
 * Node-RED serving it over plain HTTP, as before nrcert.
 */
async function startPlainNodeRed(userDir: string): Promise<NodeRedInstance> {
  const port = await freePort();
  const settingsPath = prepareUserDir(userDir);
  const text = readFileSync(settingsPath, 'utf8');
  if (!text.includes('uiPort: process.env.PORT || 1880,')) throw new Error('no uiPort line in Node-RED\'s settings.js');
  writeFileSync(settingsPath, text.replace('uiPort: process.env.PORT || 1880,', `uiPort: ${port},`));
  writeFileSync(join(userDir, 'flows.json'), JSON.stringify([
    { id: 'tab1', type: 'tab', label: 'nrcert test' },
    { id: 'in1', type: 'http in', z: 'tab1', name: '', url: '/hello', method: 'get', upload: false, swaggerDoc: '', wires: [['out1']] },
    { id: 'out1', type: 'http response', z: 'tab1', name: '', statusCode: '200', headers: {}, wires: [] },
  ]));
  const nodeRed = await startNodeRed({ userDir, port });
  nodeReds.push(nodeRed);
  await waitFor(async () => (await plainHttpStatus(`http://127.0.0.1:${port}/hello`)) === 200, 20_000, { what: `Node-RED on http://127.0.0.1:${port}` });
  return nodeRed;
}

function plainHttpStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** One HTTPS request to Node-RED (its certificate is for example.test on 127.0.0.1: not verified here). */
function httpsRequest(url: string, opts: { method?: string; headers?: Record<string, string>; body?: unknown } = {}): Promise<{ status: number; body: string }> {
  const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  const headers = { ...opts.headers, ...(body ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}) };
  return new Promise((resolve, reject) => {
    const req = httpsRequestRaw(url, { method: opts.method ?? 'GET', headers, rejectUnauthorized: false, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('timeout', () => req.destroy(new Error(`${url} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Every regular file under `dir` whose bytes contain `needle`. */
function filesContaining(dir: string, needle: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isFile() && readFileSync(path).includes(needle)) found.push(path);
  }
  return found;
}

/** Runs init in `home` with its answers piped from a script (no terminal). */
function runScripted(home: string, flags: string[], input: string): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI, 'init', ...flags], { cwd: home, env: userEnv(home), stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin!.end(input);
  return collect(child);
}

function collect(child: ReturnType<typeof spawn>): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

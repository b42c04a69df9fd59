/**
 * `nrcert settings --apply --admin-user NAME --admin-password-file F --node-auth` with a real
 * Node-RED 4: its own default settings.js, a certificate from Pebble, then the editor's admin API
 * refuses requests without a login and accepts the password (bcrypt checked by Node-RED itself),
 * and an http-in endpoint asks for the same login. The password appears in no output and no file.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { runCli, startStack, type CliResult, type Stack } from '../helpers/cli';
import { prepareUserDir, startNodeRed, type NodeRedInstance } from '../helpers/nodered';

const PASSWORD = 'correct-Horse-7-battery';
let stack: Stack;
let nodeRed: NodeRedInstance | undefined;
let userDir: string;

function nrcert(args: string[], overrides: Record<string, string | undefined> = {}): Promise<CliResult> {
  return runCli(args, stack.env({ CERT_DIR: join(userDir, 'certs'), ...overrides }), stack.dir);
}

/** One HTTPS request to Node-RED (certificate not checked: Pebble's root is not trusted here). */
function call(path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: nodeRed!.port, path, method: opts.method ?? 'GET', headers: opts.headers, rejectUnauthorized: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Every file under `dir`, for the "the password is nowhere" check. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
}

beforeAll(async () => {
  stack = await startStack();
  userDir = join(stack.dir, 'node-red');
  mkdirSync(userDir, { recursive: true });
  prepareUserDir(userDir);
}, 60_000);

afterAll(async () => {
  await nodeRed?.stop();
  await stack?.stop();
});

test('the editor and the http-in nodes ask for the login nrcert wrote; the password is stored nowhere', async () => {
  const outputs: CliResult[] = [];
  expect((await nrcert(['renew'])).code).toBe(0);
  const passwordFile = join(stack.dir, 'admin-password');
  writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  const settings = join(userDir, 'settings.js');
  const applied = await nrcert(['settings', '--apply', '--settings', settings, '--admin-user', 'admin', '--admin-password-file', passwordFile, '--node-auth']);
  outputs.push(applied);
  expect(applied.code).toBe(0);
  expect(applied.stdout).toMatch(/Wrote the login block: the editor, the dashboard and http-in nodes ask for user admin/);
  const text = readFileSync(settings, 'utf8');
  expect(text).toMatch(/\/\/ nrcert: login begin[\s\S]*adminAuth: \{[\s\S]*username: "admin",\s*password: "\$2[aby]\$08\$[./A-Za-z0-9]{53}"[\s\S]*httpNodeAuth: \{ user: "admin", pass: "\$2[aby]\$08\$[./A-Za-z0-9]{53}" \},[\s\S]*\/\/ nrcert: login end/);

  // A flow with an http-in endpoint, so httpNodeAuth has something to protect.
  writeFileSync(join(userDir, 'flows.json'), JSON.stringify([
    { id: 'f1', type: 'tab', label: 'test' },
    { id: 'in1', z: 'f1', type: 'http in', url: '/hello', method: 'get', wires: [['out1']] },
    { id: 'out1', z: 'f1', type: 'http response', statusCode: '200', wires: [] },
  ]));
  nodeRed = await startNodeRed({ userDir });
  await nodeRed.waitForTls();

  expect((await call('/flows')).status).toBe(401);
  const wrong = await call('/auth/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_id: 'node-red-admin', grant_type: 'password', scope: '*', username: 'admin', password: 'not-the-password' }) });
  expect(wrong.status).toBe(403);
  const token = await call('/auth/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ client_id: 'node-red-admin', grant_type: 'password', scope: '*', username: 'admin', password: PASSWORD }) });
  expect(token.status).toBe(200);
  const bearer = (JSON.parse(token.body) as { access_token: string }).access_token;
  expect((await call('/flows', { headers: { authorization: `Bearer ${bearer}` } })).status).toBe(200);

  expect((await call('/hello')).status).toBe(401);
  const basic = (pw: string) => ({ authorization: `Basic ${Buffer.from(`admin:${pw}`).toString('base64')}` });
  expect((await call('/hello', { headers: basic('nope') })).status).toBe(401);
  expect((await call('/hello', { headers: basic(PASSWORD) })).status).toBe(200);

  // A login made by hand is never replaced, and nothing is written then (not even the https block).
  const handMade = join(stack.dir, 'hand-made');
  mkdirSync(handMade);
  writeFileSync(join(handMade, 'settings.js'), 'module.exports = {\n    adminAuth: { type: "credentials", users: [] },\n};\n');
  const refused = await nrcert(['settings', '--apply', '--settings', join(handMade, 'settings.js'), '--admin-user', 'admin', '--admin-password-file', passwordFile]);
  outputs.push(refused);
  expect(refused.code).toBe(8);
  expect(refused.stderr).toMatch(/cannot add the login: it already sets adminAuth \(line 2\); nrcert does not replace settings you made: remove adminAuth there first, or keep it\. Nothing was changed/);
  expect(readFileSync(join(handMade, 'settings.js'), 'utf8')).toBe('module.exports = {\n    adminAuth: { type: "credentials", users: [] },\n};\n');

  for (const o of outputs) expect(`${o.stdout}${o.stderr}`).not.toContain(PASSWORD);
  for (const file of [...filesUnder(userDir), ...filesUnder(stack.env().STATE_DIR)]) {
    if (statSync(file).size < 5_000_000) expect(readFileSync(file, 'utf8').includes(PASSWORD)).toBe(false);
  }
}, 120_000);

test('a login needs a user name that Node-RED and basic auth accept, and a password of 8 characters or more', async () => {
  const short = join(stack.dir, 'short-password');
  writeFileSync(short, 'short\n');
  const settings = join(userDir, 'settings.js');
  const before = readFileSync(settings, 'utf8');
  const a = await nrcert(['settings', '--apply', '--settings', settings, '--admin-user', 'ad:min', '--admin-password-file', short]);
  expect(a.code).toBe(2);
  expect(a.stderr).toMatch(/--admin-user: "ad:min" is not a user name/);
  const b = await nrcert(['settings', '--apply', '--settings', settings, '--admin-user', 'admin', '--admin-password-file', short]);
  expect(b.code).toBe(2);
  expect(b.stderr).toMatch(/at least 8 characters/);
  const c = await nrcert(['settings', '--apply', '--settings', settings, '--admin-user', 'admin']);
  expect(c.code).toBe(2);
  expect(c.stderr).toMatch(/needs both --admin-user NAME and --admin-password-file FILE/);
  expect(readFileSync(settings, 'utf8')).toBe(before);
});

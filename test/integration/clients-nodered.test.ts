/**
 * Client certificates against a REAL Node-RED 4 over real TLS: `require` mode refuses a
 * connection without a certificate, lets the issued one (taken out of the .p12 with openssl) in,
 * and refuses it within one refresh interval after `nrcert clients revoke`, with Node-RED's pid
 * unchanged. `editor` mode keeps http-in endpoints open and closes the editor, /flows and the
 * /comms websocket to connections without a certificate.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { runCli, type CliResult } from '../helpers/cli';
import { identityFromP12, tlsGet, tlsUpgrade, type ClientIdentity } from '../helpers/client-tls';
import { prepareUserDir, startNodeRed, waitFor, type NodeRedInstance } from '../helpers/nodered';
import { makeTempDir, removeTempDir } from '../helpers/tmp';
import { TestPki } from '../unit/store/pki';

let dir: string;
let pki: TestPki;
beforeAll(async () => {
  dir = await makeTempDir('clients-nodered');
  pki = new TestPki();
});
afterAll(async () => {
  pki.cleanup();
  await removeTempDir(dir);
});

/** A scratch setup: CERT_DIR with a server certificate, STATE_DIR, a Node-RED user dir. */
let serverCert = '';
function setup(name: string): { env: Record<string, string>; userDir: string; out: string } {
  const base = join(dir, name);
  const certDir = join(base, 'certs');
  mkdirSync(certDir, { recursive: true });
  const set = pki.issueLeaf(['localhost']);
  writeFileSync(join(certDir, 'privkey.pem'), set.privkey, { mode: 0o600 });
  writeFileSync(join(certDir, 'fullchain.pem'), set.fullchain);
  serverCert = set.cert;
  const userDir = join(base, 'nodered');
  mkdirSync(userDir);
  prepareUserDir(userDir);
  const out = join(base, 'out');
  mkdirSync(out);
  return { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: base, CERT_DIR: certDir, STATE_DIR: join(base, 'state') }, userDir, out };
}

function nrcert(args: string[], env: Record<string, string>): Promise<CliResult> {
  return runCli(args, env, dir);
}

/** `clients add NAME` and the identity in its .p12, opened with the password it printed. */
async function addClient(env: Record<string, string>, out: string, name: string): Promise<ClientIdentity> {
  const added = await nrcert(['clients', 'add', name, '--out', out], env);
  expect(added.code).toBe(0);
  const password = /stored nowhere\): (\S+)/.exec(added.stdout)![1];
  return identityFromP12(join(out, `${name}.p12`), password);
}

/** The TLS session ticket the server hands out after one request on a connection, if any. */
function sessionTicket(port: number, identity: ClientIdentity): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    let ticket: Buffer | undefined;
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...identity });
    socket.on('session', (s: Buffer) => (ticket = s));
    socket.once('secureConnect', () => socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'));
    socket.on('data', () => undefined);
    socket.on('close', () => resolve(ticket));
    socket.on('error', () => resolve(ticket));
  });
}

/** Whether a connection offering `session` is resumed and answered: 'resumed 200', 'full 200', or the error. */
function resumes(port: number, identity: ClientIdentity, session: Buffer | undefined): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, session, ...identity });
    let text = '';
    socket.once('secureConnect', () => socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'));
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.on('close', () => resolve(`${socket.isSessionReused() ? 'resumed' : 'full'} ${text.split('\r\n')[0] || 'no answer'}`));
    socket.on('error', (err) => resolve(`error ${err.message}`));
  });
}

const refused = (o: Awaited<ReturnType<typeof tlsGet>>) => 'error' in o;

describe('require mode', () => {
  let red: NodeRedInstance | undefined;
  afterAll(async () => red?.stop());

  test('no certificate: refused; the issued one: 200; revoked: refused after one refresh, same pid', async () => {
    const { env, userDir, out } = setup('require');
    expect((await nrcert(['clients', 'init'], env)).code).toBe(0);
    const phone = await addClient(env, out, 'phone');
    const laptop = await addClient(env, out, 'laptop');
    const applied = await nrcert(['settings', '--apply', '--settings', join(userDir, 'settings.js'), '--client-certs', 'require', '--refresh-minutes', '0.05'], env);
    expect(applied.code).toBe(0);
    expect(applied.stdout).toMatch(/restart Node-RED once/);

    red = await startNodeRed({ userDir });
    await red.waitForTls();
    const pid = red.state().childPid;

    expect(refused(await tlsGet(red.port, '/'))).toBe(true);
    expect(await tlsGet(red.port, '/', phone)).toMatchObject({ status: 200 });
    expect(await tlsGet(red.port, '/flows', laptop)).toMatchObject({ status: 200 });
    // nrcert's own served-certificate check (NODE_RED_URL) presents no certificate: under TLS 1.3 it still sees the server's.
    expect((await red.servedCertificate()).fingerprint256).toBe(new X509Certificate(serverCert).fingerprint256);
    // A session ticket from before the revocation, to try to resume with afterwards.
    const ticket = await sessionTicket(red.port, phone);

    const revoked = await nrcert(['clients', 'revoke', 'phone'], env);
    expect(revoked.code).toBe(0);
    // One refresh interval is 3 s; allow a few for Node-RED's timer and the poll.
    await waitFor(async () => refused(await tlsGet(red!.port, '/', phone)), 10_000, { what: 'the revoked certificate to be refused' });
    expect(red.readLog()).toMatch(/Server https settings have been refreshed/);
    expect(await tlsGet(red.port, '/', laptop)).toMatchObject({ status: 200 });
    expect(refused(await tlsGet(red.port, '/'))).toBe(true);
    // Offering the old session does not get the revoked certificate back in.
    expect(await resumes(red.port, phone, ticket)).not.toMatch(/ 200 /);
    expect(red.state()).toMatchObject({ childPid: pid, generation: 1 });
  });
});

describe('editor mode', () => {
  let red: NodeRedInstance | undefined;
  afterAll(async () => red?.stop());

  test('http-in answers without a certificate; editor, /flows and /comms only with one (and not once revoked)', async () => {
    const { env, userDir, out } = setup('editor');
    writeFileSync(join(userDir, 'flows.json'), JSON.stringify([
      { id: 't1', type: 'tab', label: 'Flow 1' },
      { id: 'h1', type: 'http in', z: 't1', name: '', url: '/hello', method: 'get', upload: false, wires: [['r1']] },
      { id: 'r1', type: 'http response', z: 't1', name: '', statusCode: '200', headers: {}, wires: [] },
    ]));
    expect((await nrcert(['clients', 'init'], env)).code).toBe(0);
    const phone = await addClient(env, out, 'phone');
    const applied = await nrcert(['settings', '--apply', '--settings', join(userDir, 'settings.js'), '--client-certs', 'editor', '--refresh-minutes', '0.05'], env);
    expect(applied.code).toBe(0);
    red = await startNodeRed({ userDir });
    await red.waitForTls();
    const pid = red.state().childPid;
    // The flows start a moment after the first TLS answer.
    await waitFor(async () => (await tlsGet(red!.port, '/hello')).toString() !== '' && ((await tlsGet(red!.port, '/hello')) as { status?: number }).status === 200, 10_000, { what: 'the http-in flow' });

    expect(await tlsGet(red.port, '/hello')).toMatchObject({ status: 200 });
    for (const path of ['/', '/flows', '/settings']) {
      const outcome = await tlsGet(red.port, path);
      expect(outcome).toMatchObject({ status: 404 });
    }
    for (const path of ['/comms', '/comms?x=1']) expect(await tlsUpgrade(red.port, path)).toBe('HTTP/1.1 403 Forbidden');

    const editor = await tlsGet(red.port, '/', phone);
    expect(editor).toMatchObject({ status: 200 });
    expect((editor as { body: string }).body).toMatch(/Node-RED/);
    expect(await tlsGet(red.port, '/flows', phone)).toMatchObject({ status: 200 });
    expect(await tlsGet(red.port, '/hello', phone)).toMatchObject({ status: 200 });
    expect(await tlsUpgrade(red.port, '/comms', phone)).toBe('HTTP/1.1 101 Switching Protocols');

    expect((await nrcert(['clients', 'revoke', 'phone'], env)).code).toBe(0);
    await waitFor(async () => (await tlsUpgrade(red!.port, '/comms', phone)) === 'HTTP/1.1 403 Forbidden', 10_000, { what: 'the revoked certificate to lose /comms' });
    expect(await tlsGet(red.port, '/flows', phone)).toMatchObject({ status: 404 });
    expect(await tlsGet(red.port, '/hello', phone)).toMatchObject({ status: 200 });
    expect(red.state()).toMatchObject({ childPid: pid, generation: 1 });
  });
});

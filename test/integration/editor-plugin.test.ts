/**
 * node-red-contrib-nrcert (deploy/node-red) in a real Node-RED 4 and 5, installed by the
 * documented npm line, with a real adminAuth (bcrypt users): the package loads with no warning,
 * the admin endpoints answer what nrcert published in EDITOR_DIR and honour read-only users,
 * requests land in the spool in the contract's format, a .p12 is handed out once, nothing
 * outside EDITOR_DIR is read, and the `nrcert events` node sends new events and shows a status.
 * EDITOR_DIR is written by the test in the contract's format (editor-contract.md).
 */
import { readdirSync, readFileSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nodeRedReleases, startNodeRed, waitFor, type NodeRedInstance, type NodeRedRelease } from '../helpers/nodered';
import { adminCall, adminToken, fixtureStatus, logProblems, makeEditorDir, prepareEditorUserDir, writeEditorFile } from '../helpers/nrcert-editor';
import { makeTempDir, removeTempDir } from '../helpers/tmp';

const RELEASES = nodeRedReleases(__filename);

function event(type: string, at: Date, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type, names: ['example.test', '*.example.test'], message: `${type} happened`, at: at.toISOString(), host: 'pi', ...extra };
}

/** A log line without its time stamp. */
function withoutTime(line: string): string {
  return line.replace(/^.*? - \[/, '[');
}

function spoolFiles(spool: string): string[] {
  return readdirSync(spool).sort();
}

describe.each(RELEASES)('node-red-contrib-nrcert in a real $name', (release: NodeRedRelease) => {
  let dir: string;
  let editorDir: string;
  let spool: string;
  let outFile: string;
  let statusFile: string;
  let nodeRed: NodeRedInstance;
  let admin: string;
  let viewer: string;
  let baselineProblems: string[];
  const past = new Date(Date.now() - 3 * 86_400_000);

  beforeAll(async () => {
    dir = await makeTempDir('nrcert-editor-');
    editorDir = join(dir, 'editor');
    spool = makeEditorDir(editorDir);
    writeEditorFile(editorDir, 'status.json', { publishedAt: past.toISOString(), status: fixtureStatus(54) });
    writeEditorFile(editorDir, 'events.json', { events: [event('renewed', past, { notAfter: new Date(Date.now() + 54 * 86_400_000).toISOString() })] });
    writeEditorFile(editorDir, 'doctor.json', { publishedAt: past.toISOString(), ok: true, checks: [{ id: 'permissions', status: 'ok', message: 'privkey.pem is 0640' }], audit: [] });
    // Node-RED's own start-up warnings, without the package: the package must add none.
    const bareDir = join(dir, 'bare');
    await prepareEditorUserDir(bareDir, { release, editorDir, install: false });
    const bare = await startNodeRed({ userDir: bareDir, release });
    try {
      await waitFor(() => bare.readLog().includes('Started flows'), 30_000, { what: 'Node-RED without the package started its flows' });
    } finally {
      await bare.stop();
    }
    baselineProblems = logProblems(bare.readLog()).map(withoutTime);
    const userDir = join(dir, 'userdir');
    outFile = join(dir, 'events.out');
    statusFile = join(dir, 'status.out');
    await prepareEditorUserDir(userDir, { release, editorDir });
    writeFileSync(join(userDir, 'flows.json'), JSON.stringify([
      { id: 't1', type: 'tab', label: 'nrcert' },
      { id: 'ev1', z: 't1', type: 'nrcert-events', name: '', wires: [['c1']] },
      { id: 'c1', z: 't1', type: 'change', rules: [{ t: 'set', p: 'payload', pt: 'msg', to: '{"topic": topic, "event": payload}', tot: 'jsonata' }], wires: [['f1']] },
      { id: 'f1', z: 't1', type: 'file', filename: outFile, filenameType: 'str', appendNewline: true, createDir: false, overwriteFile: 'false', encoding: 'none', wires: [[]] },
      { id: 'st1', z: 't1', type: 'status', scope: ['ev1'], wires: [['j1']] },
      { id: 'j1', z: 't1', type: 'change', rules: [{ t: 'set', p: 'payload', pt: 'msg', to: 'status', tot: 'msg' }], wires: [['f2']] },
      { id: 'f2', z: 't1', type: 'file', filename: statusFile, filenameType: 'str', appendNewline: true, createDir: false, overwriteFile: 'false', encoding: 'none', wires: [[]] },
    ]));
    nodeRed = await startNodeRed({ userDir, release });
    await nodeRed.waitForTls(30_000);
    await waitFor(() => nodeRed.readLog().includes('Started flows'), 30_000, { what: 'Node-RED started its flows' });
    admin = await adminToken(nodeRed, 'admin');
    viewer = await adminToken(nodeRed, 'viewer');
  }, 180_000);

  afterAll(async () => {
    await nodeRed?.stop();
    if (dir) await removeTempDir(dir);
  });

  it('loads the plugin, the node and the example with no error or warning in the log', async () => {
    const log = nodeRed.readLog();
    expect(log).toContain(`Node-RED version: v${release.version}`);
    expect(baselineProblems.length).toBeLessThan(5); // Node-RED's own, e.g. "[warn] Projects disabled …"
    expect(logProblems(log).map(withoutTime)).toEqual(baselineProblems);
    const plugins = await adminCall(nodeRed, '/plugins', { token: admin, method: 'GET' });
    expect({ status: plugins.status, body: plugins.body }).toMatchObject({ status: 200, body: expect.stringContaining('node-red-contrib-nrcert') });
    const nodes = (await adminCall(nodeRed, '/nodes', { token: admin })).body;
    expect(nodes).toContain('nrcert-events');
    const examples = await adminCall(nodeRed, '/library/examples/flows/node-red-contrib-nrcert/Certificate%20events%20to%20Telegram%20or%20e-mail', { token: admin });
    expect(examples.status).toBe(200);
    expect(examples.json().map((n: { type: string }) => n.type)).toEqual(expect.arrayContaining(['nrcert-events', 'function', 'comment', 'debug']));
  });

  it('needs a token for every endpoint, and a read-only user may read but not act', async () => {
    for (const path of ['/nrcert/status', '/nrcert/doctor', '/nrcert/events', '/nrcert/clients', '/nrcert/jobs/abcdefgh-1234']) {
      expect((await adminCall(nodeRed, path)).status).toBe(401);
    }
    expect((await adminCall(nodeRed, '/nrcert/renew', { method: 'POST' })).status).toBe(401);
    const asViewer = await adminCall(nodeRed, '/nrcert/status', { token: viewer });
    expect(asViewer.status).toBe(200);
    expect(asViewer.json()).toEqual(JSON.parse(readFileSync(join(editorDir, 'status.json'), 'utf8')).status);
    expect((await adminCall(nodeRed, '/nrcert/renew', { method: 'POST', token: viewer })).status).toBe(401);
    expect((await adminCall(nodeRed, '/nrcert/clients', { method: 'POST', token: viewer, body: { name: 'phone' } })).status).toBe(401);
    expect((await adminCall(nodeRed, '/nrcert/clients/04AB/revoke', { method: 'POST', token: viewer })).status).toBe(401);
    expect(spoolFiles(spool)).toEqual([]);
    const doctor = await adminCall(nodeRed, '/nrcert/doctor', { token: viewer });
    expect(doctor.json()).toMatchObject({ ok: true, checks: [{ id: 'permissions', status: 'ok' }], audit: [] });
    expect((await adminCall(nodeRed, '/nrcert/clients', { token: viewer })).json()).toEqual({ configured: false, clients: [] });
  });

  it('Renew now writes exactly one well-formed request into the spool and reports its job', async () => {
    const reply = await adminCall(nodeRed, '/nrcert/renew', { method: 'POST', token: admin });
    expect(reply.status).toBe(202);
    const { id } = reply.json();
    expect(id).toMatch(/^[A-Za-z0-9-]{8,64}$/);
    expect(spoolFiles(spool)).toEqual([`${id}.json`]);
    expect(JSON.parse(readFileSync(join(spool, `${id}.json`), 'utf8'))).toEqual({ version: 1, id, action: 'renew' });
    expect((await adminCall(nodeRed, `/nrcert/jobs/${id}`, { token: viewer })).json()).toMatchObject({ id, state: 'queued' });
    // nrcert takes the request and records the job.
    unlinkSync(join(spool, `${id}.json`));
    writeEditorFile(editorDir, 'jobs.json', { jobs: [{ id, action: 'renew', state: 'refused', message: 'A renewal ran 2 minutes ago; the next is possible at 12:10', requestedAt: new Date().toISOString() }] });
    expect((await adminCall(nodeRed, `/nrcert/jobs/${id}`, { token: viewer })).json()).toMatchObject({ id, state: 'refused', message: expect.stringContaining('possible at') });
    expect((await adminCall(nodeRed, '/nrcert/jobs/no-such-job-0000', { token: viewer })).status).toBe(404);
    expect((await adminCall(nodeRed, '/nrcert/jobs/..%2F..%2Fetc', { token: viewer })).status).toBe(400);
  });

  it('adds a client through the spool and hands its .p12 out once; revokes by serial; refuses bad input', async () => {
    const added = await adminCall(nodeRed, '/nrcert/clients', { method: 'POST', token: admin, body: { name: 'phone' } });
    expect(added.status).toBe(202);
    const { id, password } = added.json();
    expect(password).toMatch(/^[A-Za-z0-9_-]{20}$/);
    expect(JSON.parse(readFileSync(join(spool, `${id}.json`), 'utf8'))).toEqual({ version: 1, id, action: 'client-add', name: 'phone', password });
    unlinkSync(join(spool, `${id}.json`));
    const p12 = Buffer.from([0x30, 0x82, 0x00, 0xff, 0x80, 0x00, 0x01, 0xfe]);
    writeFileSync(join(spool, `${id}.p12`), p12, { mode: 0o640 });
    writeEditorFile(editorDir, 'jobs.json', { jobs: [{ id, action: 'client-add', state: 'succeeded', message: 'issued', requestedAt: new Date().toISOString(), download: `${id}.p12` }] });
    expect((await adminCall(nodeRed, `/nrcert/clients/download/${id}`, { token: viewer })).status).toBe(401);
    const first = await adminCall(nodeRed, `/nrcert/clients/download/${id}`, { token: admin });
    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toBe('application/x-pkcs12');
    expect(first.raw.equals(p12)).toBe(true);
    expect(spoolFiles(spool)).toEqual([]);
    expect((await adminCall(nodeRed, `/nrcert/clients/download/${id}`, { token: admin })).status).toBe(410);

    const revoke = await adminCall(nodeRed, '/nrcert/clients/04:AB:0F/revoke', { method: 'POST', token: admin });
    expect(revoke.status).toBe(202);
    const rid = revoke.json().id;
    expect(JSON.parse(readFileSync(join(spool, `${rid}.json`), 'utf8'))).toEqual({ version: 1, id: rid, action: 'client-revoke', serial: '04:AB:0F' });
    unlinkSync(join(spool, `${rid}.json`));
    expect((await adminCall(nodeRed, '/nrcert/clients', { method: 'POST', token: admin, body: { name: '../x' } })).status).toBe(400);
    expect((await adminCall(nodeRed, '/nrcert/clients', { method: 'POST', token: admin, body: {} })).status).toBe(400);
    expect((await adminCall(nodeRed, '/nrcert/clients/not-hex!/revoke', { method: 'POST', token: admin })).status).toBe(400);
    expect(spoolFiles(spool)).toEqual([]);
  });

  it('never reads through a link out of EDITOR_DIR', async () => {
    const secret = join(dir, 'outside.json');
    writeFileSync(secret, JSON.stringify({ version: 1, status: { secret: 'outside-EDITOR_DIR' } }));
    const real = readFileSync(join(editorDir, 'doctor.json'));
    unlinkSync(join(editorDir, 'doctor.json'));
    symlinkSync(secret, join(editorDir, 'doctor.json'));
    try {
      const reply = await adminCall(nodeRed, '/nrcert/doctor', { token: admin });
      expect(reply.status).toBe(500);
      expect(reply.json()).toMatchObject({ error: 'unsafe', message: expect.stringContaining('symbolic link') });
      expect(reply.body).not.toContain('outside-EDITOR_DIR');
    } finally {
      unlinkSync(join(editorDir, 'doctor.json'));
      writeFileSync(join(editorDir, 'doctor.json'), real);
    }
  });

  it('the nrcert events node sends each new event once, with its type as topic, and shows the status', async () => {
    await waitFor(() => readFileSync(statusFile, 'utf8').includes('valid 54 d'), 15_000, { what: 'the green "valid 54 d" status' });
    expect(JSON.parse(readFileSync(statusFile, 'utf8').trim().split('\n').pop()!)).toMatchObject({ fill: 'green', shape: 'dot', text: 'valid 54 d' });
    const before = JSON.parse(readFileSync(join(editorDir, 'events.json'), 'utf8')).events;
    const failed = event('renewal_failed', new Date(), { error: 'cloudflare: 403', nextAttemptAt: new Date(Date.now() + 3_600_000).toISOString() });
    writeEditorFile(editorDir, 'events.json', { events: [...before, failed] });
    await waitFor(() => readFileSync(outFile, 'utf8').includes('renewal_failed'), 15_000, { what: 'the renewal_failed event in the file' });
    await waitFor(() => readFileSync(statusFile, 'utf8').includes('"failed"'), 15_000, { what: 'the red "failed" status' });
    const expiring = event('expiring', new Date(), { notAfter: new Date(Date.now() + 5 * 86_400_000).toISOString() });
    writeEditorFile(editorDir, 'events.json', { events: [...before, failed, expiring] });
    writeEditorFile(editorDir, 'status.json', { publishedAt: new Date().toISOString(), status: fixtureStatus(5, { due: true }) });
    await waitFor(() => readFileSync(outFile, 'utf8').includes('expiring'), 15_000, { what: 'the expiring event in the file' });
    const lines = readFileSync(outFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    // The renewed event from before the start is not sent.
    expect(lines).toEqual([{ topic: 'renewal_failed', event: failed }, { topic: 'expiring', event: expiring }]);
    expect(logProblems(nodeRed.readLog()).map(withoutTime)).toEqual(baselineProblems);
  });
});

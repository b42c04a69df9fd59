import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { Secret } from '../../src/config/secret';
import { buildNotifyEvent, notify, type NotifyEvent } from '../../src/service/notify';
import { freePort } from '../helpers/ports';
import { makeTempDir, removeTempDir } from '../helpers/tmp';

const TOKEN = '123456789:SENTINEL-bot-token-AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw';
const EVENT: NotifyEvent = buildNotifyEvent(
  'renewal_failed',
  { names: ['example.com', '*.example.com'], message: 'Renewing example.com failed: the Cloudflare token was refused; check CLOUDFLARE_API_TOKEN.', exitCode: 5, error: 'cloudflare: 403 Forbidden', nextAttemptAt: '2026-01-02T03:04:05.000Z', host: 'raspberrypi' },
  new Date('2026-01-01T12:00:00Z'),
);

/** A pino logger whose JSON lines land in `lines` (and, as text, in `raw`). */
function captureLogger() {
  const lines: Array<Record<string, unknown>> = [];
  let raw = '';
  const logger = pino({ level: 'debug', base: undefined }, { write: (s: string) => { raw += s; lines.push(JSON.parse(s)); } });
  return { logger, lines, raw: () => raw };
}

interface Received {
  method?: string;
  url?: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

/** A loopback HTTP server on a port chosen at run time; `answer` decides the response. */
async function startReceiver(answer: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; base: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (text += c));
    req.on('end', () => {
      received.push({ method: req.method, url: req.url, headers: req.headers, body: text ? JSON.parse(text) : undefined });
      answer(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { server, base: `http://127.0.0.1:${port}`, received };
}

function stop(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

describe('notify: NOTIFY_URL', () => {
  let server: Server | undefined;
  afterEach(async () => {
    if (server) await stop(server);
    server = undefined;
  });

  it('POSTs the event as JSON that Telegram, Node-RED and ntfy read, with ntfy headers', async () => {
    const r = await startReceiver((_req, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"ok":true}'));
    server = r.server;
    const { logger, lines, raw } = captureLogger();
    await notify(EVENT, { url: new Secret(`${r.base}/bot${TOKEN}/sendMessage?chat_id=-100123`), logger });

    expect(r.received).toHaveLength(1);
    const got = r.received[0]!;
    expect(got.method).toBe('POST');
    expect(got.url).toBe(`/bot${TOKEN}/sendMessage?chat_id=-100123`); // chat_id stays in the query for Telegram
    expect(got.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(got.body).toEqual({
      text: EVENT.message,
      title: 'nrcert on raspberrypi: certificate renewal failed',
      type: 'renewal_failed',
      names: ['example.com', '*.example.com'],
      message: EVENT.message,
      at: '2026-01-01T12:00:00.000Z',
      host: 'raspberrypi',
      exitCode: 5,
      error: 'cloudflare: 403 Forbidden',
      nextAttemptAt: '2026-01-02T03:04:05.000Z',
    });
    expect(got.headers).toMatchObject({
      title: 'nrcert on raspberrypi: certificate renewal failed',
      tags: 'rotating_light,nrcert',
      priority: 'high',
      'x-template': 'yes',
      'x-message': '{{.text}}',
    });
    expect(lines).toEqual([expect.objectContaining({ level: 30, setting: 'NOTIFY_URL', target: r.base, status: 200 })]);
    expect(raw()).not.toContain('SENTINEL');
    expect(raw()).not.toContain('/bot');
  });

  it('logs an error answer with the server\'s reason, without the URL\'s path or token, and does not throw', async () => {
    const r = await startReceiver((req, res) =>
      res.writeHead(500, { 'Content-Type': 'application/json' }).end(JSON.stringify({ ok: false, description: `Internal Server Error at ${req.url}` })),
    );
    server = r.server;
    const { logger, lines, raw } = captureLogger();
    await expect(notify(EVENT, { url: new Secret(`${r.base}/bot${TOKEN}/sendMessage?chat_id=42`), logger })).resolves.toBeUndefined();

    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, setting: 'NOTIFY_URL', target: r.base, status: 500 });
    expect(lines[0]!.msg).toMatch(/^NOTIFY_URL \(http:\/\/127\.0\.0\.1:\d+\) answered HTTP 500 \(Internal Server Error at \[redacted\]\)/);
    expect(raw()).not.toContain('SENTINEL');
    expect(raw()).not.toContain('sendMessage');
  });

  it('logs a refused connection and does not throw', async () => {
    const port = await freePort();
    const { logger, lines, raw } = captureLogger();
    await expect(notify(EVENT, { url: new Secret(`http://127.0.0.1:${port}/secret-topic-${TOKEN}`), logger })).resolves.toBeUndefined();
    expect(lines).toEqual([expect.objectContaining({ level: 40, setting: 'NOTIFY_URL', target: `http://127.0.0.1:${port}` })]);
    expect(lines[0]!.msg).toContain('could not be reached (ECONNREFUSED)');
    expect(raw()).not.toContain('SENTINEL');
    expect(raw()).not.toContain('secret-topic');
  });

  it('gives up after the timeout, logs it and does not throw', async () => {
    const r = await startReceiver(() => undefined); // never answers
    server = r.server;
    const { logger, lines, raw } = captureLogger();
    const started = Date.now();
    await notify(EVENT, { url: new Secret(`${r.base}/mytopic-${TOKEN}`), timeoutMs: 300, logger });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(lines).toEqual([expect.objectContaining({ level: 40, setting: 'NOTIFY_URL' })]);
    expect(lines[0]!.msg).toContain('did not answer within 0.3 s');
    expect(raw()).not.toContain('SENTINEL');
  });
});

describe('buildNotifyEvent', () => {
  it('stamps the time and this host, and keeps the caller\'s fields', () => {
    const event = buildNotifyEvent('renewed', { names: ['a.test'], message: 'Renewed.', notAfter: '2026-03-01T00:00:00.000Z', lineage: 'L1' }, new Date(0));
    expect(event).toMatchObject({ type: 'renewed', names: ['a.test'], message: 'Renewed.', at: '1970-01-01T00:00:00.000Z', notAfter: '2026-03-01T00:00:00.000Z', lineage: 'L1' });
    expect(typeof event.host).toBe('string');
    expect(event.host.length).toBeGreaterThan(0);
  });
});

/**
 * NOTIFY_COMMAND runs through execa, an ES module that jest's CommonJS sandbox cannot import
 * (dynamic import needs --experimental-vm-modules). So these tests run the built notify.js
 * (`npm test` builds first) in a plain node child process, exactly as the service would.
 */
describe('notify: NOTIFY_COMMAND', () => {
  let dir: string;
  const run = promisify(execFile);

  beforeAll(async () => {
    dir = await makeTempDir('notify-cmd');
    // The runner: calls notify() with a logger that prints JSON lines, then says "done".
    writeFileSync(
      join(dir, 'runner.js'),
      `const { notify } = require(${JSON.stringify(join(__dirname, '..', '..', 'dist', 'service', 'notify.js'))});
const log = (level) => (fields, msg) => console.log(JSON.stringify({ level, ...fields, msg }));
const { event, command, timeoutMs } = JSON.parse(process.argv[2]);
notify(event, { command, timeoutMs, logger: { info: log('info'), warn: log('warn'), debug: log('debug') } })
  .then(() => console.log(JSON.stringify({ done: true })));
`,
    );
    // The notification command: records its stdin and environment in the file named by argv[2].
    writeFileSync(
      join(dir, 'recorder.js'),
      `let stdin = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (c) => (stdin += c));
process.stdin.on('end', () => {
  const pick = ['NRCERT_EVENT', 'NRCERT_EVENT_TYPE', 'NRCERT_MESSAGE', 'CLOUDFLARE_API_TOKEN', 'NOTIFY_URL', 'KEEP_ME'];
  const env = Object.fromEntries(pick.map((k) => [k, process.env[k]]));
  require('fs').writeFileSync(process.argv[2], JSON.stringify({ stdin, env }));
});
`,
    );
  });
  afterAll(() => removeTempDir(dir));

  async function runNotify(command: string[], timeoutMs?: number): Promise<Array<Record<string, unknown>>> {
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', CLOUDFLARE_API_TOKEN: TOKEN, NOTIFY_URL: `https://api.telegram.org/bot${TOKEN}/sendMessage`, KEEP_ME: 'kept' };
    const { stdout } = await run(process.execPath, [join(dir, 'runner.js'), JSON.stringify({ event: EVENT, command, timeoutMs })], { env, timeout: 30_000 });
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[lines.length - 1]).toEqual({ done: true }); // notify() resolved: it never throws
    return lines.slice(0, -1);
  }

  it('gives the command the event as JSON on stdin and in its environment, without nrcert\'s secrets', async () => {
    const out = join(dir, 'got.json');
    const lines = await runNotify([process.execPath, join(dir, 'recorder.js'), out]);
    const got = JSON.parse(readFileSync(out, 'utf8')) as { stdin: string; env: Record<string, string | undefined> };
    expect(JSON.parse(got.stdin)).toEqual(EVENT);
    expect(JSON.parse(got.env.NRCERT_EVENT!)).toEqual(EVENT);
    expect(got.env.NRCERT_EVENT_TYPE).toBe('renewal_failed');
    expect(got.env.NRCERT_MESSAGE).toBe(EVENT.message);
    expect(got.env.CLOUDFLARE_API_TOKEN).toBeUndefined();
    expect(got.env.NOTIFY_URL).toBeUndefined();
    expect(got.env.KEEP_ME).toBe('kept');
    expect(lines).toEqual([expect.objectContaining({ level: 'info', setting: 'NOTIFY_COMMAND', command: process.execPath })]);
  });

  it('logs a command that fails, with its last output, and does not throw', async () => {
    const lines = await runNotify([process.execPath, '-e', 'console.error("smtp: connection refused"); process.exit(3)']);
    expect(lines).toEqual([expect.objectContaining({ level: 'warn', setting: 'NOTIFY_COMMAND' })]);
    expect(lines[0]!.msg).toMatch(/^NOTIFY_COMMAND \(.*node.*\) exited with code 3: smtp: connection refused; the renewal_failed notification was not delivered$/);
  });

  it('logs a command that does not exist, and does not throw', async () => {
    const lines = await runNotify(['/nonexistent/notify-me']);
    expect(lines).toEqual([expect.objectContaining({ level: 'warn', setting: 'NOTIFY_COMMAND' })]);
    expect(lines[0]!.msg).toContain('NOTIFY_COMMAND (/nonexistent/notify-me) could not be run (ENOENT)');
  });

  it('stops a command that outlives the timeout, logs it and does not throw', async () => {
    const started = Date.now();
    const lines = await runNotify([process.execPath, '-e', 'setTimeout(() => {}, 60000)'], 300);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(lines).toEqual([expect.objectContaining({ level: 'warn', setting: 'NOTIFY_COMMAND' })]);
    expect(lines[0]!.msg).toContain('did not finish within 0.3 s and was stopped');
  });
});

describe('the editor channel (EDITOR_DIR/events.json)', () => {
  test('appends every event, oldest first, keeps the last 50, and needs no other channel', async () => {
    const dir = await makeTempDir('notify-editor');
    try {
      const { logger } = captureLogger();
      const editor = { dir: join(dir, 'editor') };
      for (let i = 0; i < 53; i++) {
        await notify({ ...EVENT, message: `event ${i}` }, { editor, logger });
      }
      const file = JSON.parse(readFileSync(join(dir, 'editor', 'events.json'), 'utf8')) as { version: number; events: NotifyEvent[] };
      expect(file.version).toBe(1);
      expect(file.events).toHaveLength(50);
      expect(file.events[0].message).toBe('event 3');
      expect(file.events.at(-1)).toEqual({ ...EVENT, message: 'event 52' });
    } finally {
      await removeTempDir(dir);
    }
  });

  test('a folder it cannot write is one warning naming EDITOR_DIR; notify still resolves', async () => {
    const dir = await makeTempDir('notify-editor');
    try {
      const { logger, lines } = captureLogger();
      writeFileSync(join(dir, 'not-a-dir'), 'x');
      await expect(notify(EVENT, { editor: { dir: join(dir, 'not-a-dir', 'editor') }, logger })).resolves.toBeUndefined();
      expect(lines.filter((l) => l.level === 40).map((l) => l.msg)).toEqual([expect.stringMatching(/^EDITOR_DIR: the notification could not be sent/)]);
    } finally {
      await removeTempDir(dir);
    }
  });
});

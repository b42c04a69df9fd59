/**
 * The Node-RED side of nrcert's editor integration in tests: a real Node-RED (4 or 5) with
 * deploy/node-red (node-red-contrib-nrcert) installed by the documented npm line, HTTPS, a real
 * adminAuth (bcrypt users: `admin` with every permission, `viewer` with "read" only), and
 * EDITOR_DIR files written in the contract's format (/work/prompts/editor-contract.md).
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { hashSync } from 'bcryptjs';
import { insertIntoSettings, prepareUserDir, type NodeRedInstance, type NodeRedRelease } from './nodered';
import { makeTlsCert } from './pebble';

const execFileAsync = promisify(execFile);

/** deploy/node-red: the package folder. */
export const EDITOR_PACKAGE = resolve(__dirname, '..', '..', 'deploy', 'node-red');

/** The adminAuth users and their passwords. */
export const USERS = {
  admin: { password: 'admin-Pass-4-editor', permissions: '*' },
  viewer: { password: 'viewer-Pass-4-editor', permissions: 'read' },
} as const;

/** Installs the package into `userDir` with the line README.md documents. */
export async function installEditorPackage(userDir: string): Promise<void> {
  await execFileAsync('npm', ['install', '--prefix', userDir, '--install-links', '--offline', '--no-audit', '--no-fund', EDITOR_PACKAGE], { timeout: 120_000 });
}

/** Options of prepareEditorUserDir. */
export interface EditorUserDirOptions {
  release: NodeRedRelease;
  editorDir: string;
  /** false: no adminAuth block (default true). */
  adminAuth?: boolean;
  /** false: leave the package out (the bench's baseline). */
  install?: boolean;
  /** The HTTPS key and certificate; a self-signed one is made in userDir when absent. */
  tls?: { keyPath: string; certPath: string };
}

/**
 * Prepares `userDir` for startNodeRed: the release's default settings.js bound to loopback,
 * HTTPS, adminAuth, `nrcert: { editorDir }`, a fixed credentialSecret (so Node-RED does not warn
 * about a generated one) and the package installed.
 */
export async function prepareEditorUserDir(userDir: string, opts: EditorUserDirOptions): Promise<void> {
  mkdirSync(userDir, { recursive: true });
  const settings = prepareUserDir(userDir, opts.release);
  const tls = opts.tls ?? (await makeTlsCert(userDir));
  const users = Object.entries(USERS).map(([username, u]) => ({ username, password: hashSync(u.password, 8), permissions: u.permissions }));
  insertIntoSettings(settings, `
    https: { key: require("fs").readFileSync(${JSON.stringify(tls.keyPath)}), cert: require("fs").readFileSync(${JSON.stringify(tls.certPath)}) },
    credentialSecret: "test-credential-secret",
    ${opts.adminAuth === false ? '' : `adminAuth: { type: "credentials", users: ${JSON.stringify(users)} },`}
    nrcert: { editorDir: ${JSON.stringify(opts.editorDir)} },`);
  keepEditorOffline(settings);
  if (opts.install !== false) await installEditorPackage(userDir);
}

/**
 * Turns off what makes the editor reach the Internet from a browser (the palette catalogue at
 * catalogue.nodered.org) and the welcome tour that would cover the editor in a browser test.
 */
function keepEditorOffline(settingsPath: string): void {
  const text = readFileSync(settingsPath, 'utf8');
  const edits: Array<[string, string]> = [
    ['        //tours: false,', '        tours: false,'],
    ['        palette: {\n', '        palette: {\n            catalogues: [],\n'],
  ];
  let out = text;
  for (const [from, to] of edits) {
    if (!out.includes(from)) throw new Error(`keepEditorOffline: no ${JSON.stringify(from)} in ${settingsPath}`);
    out = out.replace(from, to);
  }
  writeFileSync(settingsPath, out);
}

/** An answer of the admin API. */
export interface AdminReply {
  status: number;
  body: string;
  json(): any; // eslint-disable-line @typescript-eslint/no-explicit-any
  headers: Record<string, string | string[] | undefined>;
  raw: Buffer;
}

/** One request to Node-RED's admin API (its self-signed certificate is not checked). */
export function adminCall(nodeRed: NodeRedInstance, path: string, opts: { method?: string; token?: string; body?: unknown } = {}): Promise<AdminReply> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  if (payload !== undefined) headers['content-type'] = 'application/json';
  return new Promise((resolvePromise, reject) => {
    const req = request({ host: '127.0.0.1', port: nodeRed.port, path, method: opts.method ?? 'GET', headers, rejectUnauthorized: false, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        const body = raw.toString('utf8');
        resolvePromise({ status: res.statusCode ?? 0, body, raw, headers: res.headers, json: () => JSON.parse(body) });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${opts.method ?? 'GET'} ${path} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Logs `user` in through Node-RED's own /auth/token and returns the access token. */
export async function adminToken(nodeRed: NodeRedInstance, user: keyof typeof USERS): Promise<string> {
  const reply = await adminCall(nodeRed, '/auth/token', {
    method: 'POST',
    body: { client_id: 'node-red-admin', grant_type: 'password', scope: '', username: user, password: USERS[user].password },
  });
  if (reply.status !== 200) throw new Error(`login of ${user} failed: HTTP ${reply.status} ${reply.body}`);
  return reply.json().access_token as string;
}

/** The `[warn]` and `[error]` lines of a Node-RED log. */
export function logProblems(log: string): string[] {
  return log.split('\n').filter((l) => /\[(warn|error)\]/.test(l));
}

/** Writes one EDITOR_DIR file (`{version: 1, ...content}`) atomically, as nrcert does. */
export function writeEditorFile(editorDir: string, name: string, content: Record<string, unknown>): void {
  const tmp = join(editorDir, `.${name}.tmp`);
  writeFileSync(tmp, `${JSON.stringify({ version: 1, ...content }, null, 2)}\n`, { mode: 0o640 });
  renameSync(tmp, join(editorDir, name));
}

/** A `status` as `nrcert status --json` prints it, for a certificate valid `daysLeft` more days. */
export function fixtureStatus(daysLeft: number, opts: { due?: boolean; names?: string[] } = {}): Record<string, unknown> {
  const now = Date.now();
  const notAfter = new Date(now + daysLeft * 86_400_000 + 3_600_000);
  const notBefore = new Date(notAfter.getTime() - 90 * 86_400_000);
  return {
    certDir: '/home/pi/.node-red/certs',
    certificates: [{
      names: opts.names ?? ['example.test', '*.example.test'],
      issuer: 'CN=Pebble Intermediate CA 7a1e2f',
      serial: '04ab',
      fingerprint256: 'AA:BB',
      notBefore: notBefore.toISOString(),
      notAfter: notAfter.toISOString(),
      daysLeft,
      dueAt: new Date(notAfter.getTime() - 30 * 86_400_000).toISOString(),
      due: opts.due ?? false,
      files: { key: '/home/pi/.node-red/certs/privkey.pem', cert: '/home/pi/.node-red/certs/fullchain.pem' },
    }],
    lineages: [],
  };
}

/** Makes EDITOR_DIR and its spool (`requests/`) with the contract's modes. */
export function makeEditorDir(editorDir: string): string {
  mkdirSync(editorDir, { recursive: true });
  chmodSync(editorDir, 0o750);
  const spool = join(editorDir, 'requests');
  mkdirSync(spool);
  chmodSync(spool, 0o3770);
  return spool;
}

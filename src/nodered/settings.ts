/**
 * Node-RED's settings.js for nrcert: the lines that make Node-RED read the installed certificate
 * (and re-read it without a restart), where settings.js is, and `--apply`: edit it in place with
 * a backup, check the result in a child node process, and swap it in atomically.
 */
import { expandPath } from '../config/config';
import { formatTimestamp } from '../store/lineage';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { promisify } from 'node:util';
import { InstallError, NrcertError, UsageError } from '../errors';
import { asUser, ownerOf, runningAsRoot, type NotPromise } from '../privilege/as-owner';
import { groupsOf } from '../privilege/users';
import { fsyncDirSync, writeFileSyncedSync, type Ownership } from '../store/atomic';
import { ScanError } from './js-scan';
import { BLOCK_BEGIN, BLOCK_END, editSettings, HTTPS_BLOCK, type SettingsEdit } from './settings-edit';
import { probeSettings, type SettingsProbe } from './settings-probe';

/** Minutes between two reads of the certificate files by Node-RED, unless told otherwise. */
export const DEFAULT_REFRESH_MINUTES = 1;
/** Node-RED caps httpsRefreshInterval at 596 hours (the largest setInterval delay). */
export const MAX_REFRESH_MINUTES = 596 * 60;

/** What the settings block needs: the absolute CERT_DIR and the refresh interval in minutes. */
export interface SettingsBlockOptions {
  certDir: string;
  refreshMinutes: number;
  /** Client certificates (nrcert clients); absent or 'off': the block is exactly as without them. */
  clientCerts?: ClientCertSettings;
}

/** `require`: every connection needs a client certificate; `editor`: the editor and admin API do. */
export type ClientCertMode = 'require' | 'editor';

/** Where the client CA's certificate and CRL are, and which mode. */
export interface ClientCertSettings {
  mode: ClientCertMode;
  caFile: string;
  crlFile: string;
}

/** The line in the block that names the client-certificate mode (read back by clientCertModeIn). */
const MODE_LINE = '// nrcert client certificates: ';

/** The client-certificate mode of the nrcert block in `source`, or null when it has none. */
export function clientCertModeIn(source: string): ClientCertMode | null {
  const begin = source.indexOf(BLOCK_BEGIN);
  const end = source.indexOf(BLOCK_END, begin);
  if (begin < 0 || end < 0) return null;
  const m = /\/\/ nrcert client certificates: (require|editor)\b/.exec(source.slice(begin, end));
  return m ? (m[1] as ClientCertMode) : null;
}

/**
 * The settings.js lines, between the nrcert begin/end markers. `https` resolves `current` once
 * and reads key and certificate from that one lineage folder, so a swap between the two reads
 * cannot pair a key with another certificate. Node-RED takes httpsRefreshInterval in hours.
 */
export function settingsBlock(opts: SettingsBlockOptions, indent = '    ', eol = '\n'): string {
  const [a, b, c] = [indent, indent.repeat(2), indent.repeat(3)];
  const every = opts.refreshMinutes === 1 ? 'minute' : `${opts.refreshMinutes} minutes`;
  const lines = [
    `${a}${BLOCK_BEGIN} (managed by nrcert; \`nrcert settings --apply\` rewrites this block)`,
    `${a}https: function () {`,
    `${b}// Read key and certificate from one lineage folder, so they always match.`,
    `${b}const fs = require("fs");`,
    `${b}const path = require("path");`,
    `${b}let dir = ${JSON.stringify(opts.certDir)};`,
    `${b}try { dir = fs.realpathSync(path.join(dir, "current")); } catch (e) { /* plain files */ }`,
    ...(opts.clientCerts ? clientCertLines(opts.clientCerts, a, b, c) : [
      `${b}return {`,
      `${c}key: fs.readFileSync(path.join(dir, "privkey.pem")),`,
      `${c}cert: fs.readFileSync(path.join(dir, "fullchain.pem"))`,
      `${b}};`,
    ]),
    `${a}},`,
    ...(opts.clientCerts?.mode === 'editor' ? adminMiddlewareLines(a, b) : []),
    `${a}// Re-read the files every ${every} and swap the TLS context when they changed: no restart.`,
    `${a}httpsRefreshInterval: ${opts.refreshMinutes} / 60, // hours`,
    `${a}// requireHttps only redirects requests that reach Node-RED as plain HTTP through a proxy`,
    `${a}// (X-Forwarded-Proto); plain HTTP sent straight to Node-RED's port just fails.`,
    `${a}requireHttps: true,`,
    `${a}${BLOCK_END}`,
  ];
  return lines.join(eol) + eol;
}

/**
 * The end of the https function with client certificates: `ca` and `crl` from the client CA,
 * and the certificate text followed by a line that changes whenever the CA or the CRL does.
 * Node-RED's refresh (red.js) calls setSecureContext only when key or cert differ from what it
 * has, so without that line a new CRL would never be applied; OpenSSL ignores text outside the
 * BEGIN/END lines, so the certificate itself is unchanged. Session tickets are off as a second
 * guard: a resumed TLS session skips the certificate check (the test shows no resumption after
 * a revocation; Node's server keeps no session cache, and without tickets there is nothing to resume).
 */
function clientCertLines(cc: ClientCertSettings, a: string, b: string, c: string): string[] {
  const lines = [
    `${b}${MODE_LINE}${cc.mode} (only certificates of this CA that its CRL does not list${cc.mode === 'editor' ? ' reach the editor' : ' get in'}).`,
    `${b}const ca = fs.readFileSync(${JSON.stringify(cc.caFile)}, "utf8");`,
    `${b}const crl = fs.readFileSync(${JSON.stringify(cc.crlFile)}, "utf8");`,
    `${b}// Node-RED applies a refresh only when key or cert changed: this line after the certificates`,
    `${b}// (ignored by OpenSSL) changes with the CRL, so a revocation applies at the next refresh.`,
    `${b}const stamp = require("crypto").createHash("sha256").update(ca).update(crl).digest("hex");`,
    `${b}return {`,
    `${c}key: fs.readFileSync(path.join(dir, "privkey.pem")),`,
    `${c}cert: fs.readFileSync(path.join(dir, "fullchain.pem"), "utf8") + "\\nnrcert client CA and CRL " + stamp + "\\n",`,
    `${c}ca: ca,`,
    `${c}crl: crl,`,
    `${c}// Fixed when Node-RED creates its server: changing them needs one restart.`,
    `${c}requestCert: true,`,
    `${c}rejectUnauthorized: ${cc.mode === 'require'},`,
    `${c}// No session tickets: a resumed session would skip the certificate and CRL check.`,
    `${c}secureOptions: require("crypto").constants.SSL_OP_NO_TICKET${cc.mode === 'editor' ? ',' : ''}`,
  ];
  if (cc.mode === 'editor') lines.push(...commsGuardLines(c, c + a.replace(/^/, ''), a));
  lines.push(`${b}};`);
  return lines;
}

/**
 * editor mode: the editor's websocket (/comms) is an HTTP upgrade, which never passes through
 * httpAdminMiddleware. Every request object of the server is made by this IncomingMessage class
 * (an http.createServer option that https.createServer takes), so its constructor can reach the
 * server before the first 'upgrade' is emitted and wrap its emit: an upgrade to the comms path
 * (computed as @node-red/editor-api's comms.js computes it) on a connection without an
 * authorised client certificate is answered 403 and closed before any listener sees it.
 */
function commsGuardLines(c: string, d: string, a: string): string[] {
  const [e, f, g] = [d + a, d + a + a, d + a + a + a];
  return [
    `${c}// The editor's websocket (/comms) bypasses httpAdminMiddleware: refuse its upgrade here.`,
    `${c}IncomingMessage: class extends require("http").IncomingMessage {`,
    `${d}constructor(socket) {`,
    `${e}super(socket);`,
    `${e}const server = socket && socket.server;`,
    `${e}if (!server || server.nrcertCommsGuard) return;`,
    `${e}server.nrcertCommsGuard = true;`,
    `${e}const emit = server.emit;`,
    `${e}server.emit = function (event, req, sock) {`,
    `${f}if (event === "upgrade" && !(req.socket && req.socket.authorized)) {`,
    `${g}const root = module.exports.httpAdminRoot || "/";`,
    `${g}const comms = (root.slice(0, 1) !== "/" ? "/" : "") + root + (root.slice(-1) === "/" ? "" : "/") + "comms";`,
    `${g}if (require("url").parse(req.url).pathname === comms) {`,
    `${g}${a}sock.end("HTTP/1.1 403 Forbidden\\r\\nConnection: close\\r\\nContent-Length: 0\\r\\n\\r\\n");`,
    `${g}${a}return true;`,
    `${g}}`,
    `${f}}`,
    `${f}return emit.apply(this, arguments);`,
    `${e}};`,
    `${d}}`,
    `${c}}`,
  ];
}

/**
 * editor mode: requests without an authorised client certificate leave the admin app
 * (`next("router")`), so the editor and admin API never see them, while http-in endpoints and
 * the dashboard, mounted after it (often at the same root), still answer.
 */
function adminMiddlewareLines(a: string, b: string): string[] {
  return [
    `${a}// The editor and admin API only for an authorised client certificate; http-in and dashboard stay open.`,
    `${a}httpAdminMiddleware: function (req, res, next) {`,
    `${b}next(req.socket && req.socket.authorized ? undefined : "router");`,
    `${a}},`,
  ];
}

/** Where to look for settings.js: the sources are passed in, never read from the process. */
export interface SettingsPathSources {
  /** The --settings option, if given. */
  flag?: string;
  env: Record<string, string | undefined>;
  home: string;
  cwd: string;
  exists: (path: string) => boolean;
}

/** --settings, else NODE_RED_USER_DIR/settings.js, else /data/settings.js in Docker, else ~/.node-red. */
export function settingsPathFor(sources: SettingsPathSources): string {
  const expand = (p: string) => expandPath(p, sources.home, sources.cwd);
  if (sources.flag) return expand(sources.flag);
  if (sources.env.NODE_RED_USER_DIR) return join(expand(sources.env.NODE_RED_USER_DIR), 'settings.js');
  if (sources.exists('/.dockerenv') && sources.exists('/data/settings.js')) return '/data/settings.js';
  return join(sources.home, '.node-red', 'settings.js');
}

/** What `--apply` is asked to do. */
export interface ApplyOptions extends SettingsBlockOptions {
  settingsPath: string;
  /** The time in the backup's name (default: now). */
  now?: Date;
  /** The node binary that checks the result (default: the one running nrcert). */
  node?: string;
  timeoutMs?: number;
}

/** What `--apply` did. */
export interface ApplyResult {
  /** The file edited (symlinks resolved). */
  path: string;
  /** False when the file already held exactly this block: nothing was written. */
  changed: boolean;
  /** True when an earlier nrcert block was replaced, false when the block was inserted. */
  replaced: boolean;
  /** Active https / httpsRefreshInterval / requireHttps properties removed outside the block. */
  removed: string[];
  backupPath: string | null;
  /** Whether CERT_DIR/privkey.pem exists (so the check judged what https() returns). */
  certificatePresent: boolean;
  /** Temporary files of an earlier, interrupted --apply that were removed first. */
  leftoversRemoved: string[];
}

/** Puts the nrcert block into settings.js, or refuses with an InstallError leaving it untouched. */
export async function applySettings(opts: ApplyOptions): Promise<ApplyResult> {
  // editor mode sets httpAdminMiddleware too: one set elsewhere would override it, so it is removed (and reported).
  const spec = opts.clientCerts?.mode === 'editor' ? { ...HTTPS_BLOCK, keys: [...HTTPS_BLOCK.keys, 'httpAdminMiddleware'] } : HTTPS_BLOCK;
  const check: SettingsCheck = (probe, present) => [...httpsProblems(probe, present), ...clientCertProblems(probe, present, opts.clientCerts)];
  return applyEdit(opts, (source) => editSettings(source, (indent, eol) => settingsBlock(opts, indent, eol), spec), check);
}

/** What is wrong with the client-certificate options https() gives, for the mode asked for. */
export function clientCertProblems(p: SettingsProbe, callHttps: boolean, cc: ClientCertSettings | undefined): string[] {
  if (!callHttps || p.https !== 'function' || p.httpsError) return [];
  const got = p.clientCerts ?? null;
  if (!cc) return got ? ['settings.https() asks for client certificates, but client certificates are off'] : [];
  if (!got || !got.ca || !got.crl) return [`settings.https() does not give ca, crl and requestCert for client certificates (${cc.mode} mode)`];
  if (got.rejectUnauthorized !== (cc.mode === 'require')) return [`settings.https() gives rejectUnauthorized: ${got.rejectUnauthorized}, not what ${cc.mode} mode needs`];
  return [];
}

/** How a settings.js edit is judged once node has loaded the edited file: its problems, none when fine. */
export type SettingsCheck = (probe: SettingsProbe, certificatePresent: boolean) => string[];

/** What applyEdit needs besides the edit itself. */
export type EditOptions = Pick<ApplyOptions, 'settingsPath' | 'certDir' | 'now' | 'node' | 'timeoutMs'>;

/**
 * The one safe way nrcert changes settings.js (the https block, the login block): leftovers of a
 * killed run removed, UTF-8 checked, `edit` applied to the text, the result written beside the
 * file, checked with node (`check`), the original backed up, then renamed into place. Refuses with
 * an InstallError, leaving the file untouched, when any step fails.
 */
export async function applyEdit(opts: EditOptions, edit: (source: string) => SettingsEdit, check: SettingsCheck): Promise<ApplyResult> {
  const path = await existingFile(opts.settingsPath);
  const act = actorFor(opts.settingsPath);
  const leftoversRemoved = act(() => removeLeftovers(path));
  let raw: Buffer;
  try {
    raw = act(() => readFileSync(path));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new InstallError(`cannot read ${path} (${e.code ?? e.message}); check its permissions`, { cause: err });
  }
  const source = raw.toString('utf8');
  if (!Buffer.from(source, 'utf8').equals(raw)) throw refusal(path, 'it is not UTF-8 text');
  let text: string;
  let info: { replaced: boolean; removed: string[] };
  try {
    ({ text, ...info } = edit(source));
  } catch (err) {
    if (err instanceof ScanError) throw refusal(path, `cannot edit it safely: ${err.message}`, err);
    throw err;
  }
  const certificatePresent = existsSync(join(opts.certDir, 'privkey.pem'));
  const result = { path, ...info, certificatePresent, leftoversRemoved };
  if (text === source) return { ...result, changed: false, backupPath: null };
  return { ...result, changed: true, backupPath: await replaceChecked(path, raw, text, opts, check, certificatePresent, act) };
}

/** The real path of an existing settings file, or a UsageError saying where it was looked for. */
async function existingFile(path: string): Promise<string> {
  try {
    const real = await realpath(path);
    if ((await stat(real)).isFile()) return real;
  } catch {
    // reported below
  }
  throw new UsageError(
    `no settings file at ${path}; start Node-RED once to create it, or pass --settings PATH ` +
      '(or set NODE_RED_USER_DIR to its folder)',
  );
}

/** Runs synchronous file work with the credentials settings.js may be edited with. */
type Actor = <T>(work: () => NotPromise<T>) => T;

/**
 * Run as root, settings.js is read and written as the user who controls its folder (or a link on
 * the way: privilege/as-owner.ts): a settings.js that is a link to a root-owned file elsewhere
 * is then refused by the kernel instead of being edited, and nothing is written where that user
 * could not write.
 */
function actorFor(settingsPath: string): Actor {
  if (!runningAsRoot()) return (work) => work();
  const owner = ownerOf(settingsPath);
  const who = { ...owner, groups: groupsOf(owner.uid, owner.gid) };
  return (work) => asUser(who, work);
}

/** The standard refusal: names the file, says it is untouched and what to do instead. */
function refusal(path: string, reason: string, cause?: unknown): InstallError {
  return new InstallError(
    `${path}: ${reason}. Nothing was changed; paste the lines printed by \`nrcert settings\` ` +
      'into its module.exports = { … } by hand',
    { cause },
  );
}

/**
 * Writes `text` beside `path` (same mode and owner), checks it with node, backs up `raw`, then
 * renames the checked file over `path`. Returns the backup's path.
 */
async function replaceChecked(path: string, raw: Buffer, text: string, opts: EditOptions, check: SettingsCheck, callHttps: boolean, act: Actor): Promise<string> {
  const st = await stat(path);
  const mode = st.mode & 0o7777;
  const ownership: Ownership = st.uid === process.getuid?.() && st.gid === process.getgid?.() ? {} : { owner: st.uid, group: st.gid };
  const temp = tempPathFor(path);
  try {
    act(() => writeFileSyncedSync(temp, text, mode, ownership));
    await checkSettings(path, temp, callHttps, opts, check);
    const backupPath = act(() => writeBackup(path, raw, mode, ownership, opts.now ?? new Date()));
    act(() => {
      renameSync(temp, path);
      fsyncDirSync(dirname(path));
    });
    return backupPath;
  } catch (err) {
    act(() => rmSync(temp, { force: true }));
    if (err instanceof NrcertError) throw err;
    throw refusal(path, `writing it failed (${(err as Error).message})`, err);
  }
}

/**
 * The file the edited text is written to and checked in, beside settings.js:
 * `.settings.js.<8 hex>.tmp.js`. It keeps the extension, so node --check and require() treat it
 * as they treat settings.js.
 */
function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp${extname(path) || '.js'}`);
}

/**
 * Removes what a killed --apply left: regular files beside `path` named as tempPathFor names
 * them and owned by the owner of `path` (whom they are made for). Links and other names stay.
 */
function removeLeftovers(path: string): string[] {
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = new RegExp(`^\\.${escape(basename(path))}\\.[0-9a-f]{8}\\.tmp${escape(extname(path) || '.js')}$`);
  const owner = statSync(path).uid;
  const removed: string[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(dirname(path));
  } catch {
    return removed;
  }
  for (const name of names) {
    const leftover = join(dirname(path), name);
    if (!pattern.test(name)) continue;
    let st;
    try {
      st = lstatSync(leftover);
    } catch {
      continue;
    }
    if (!st.isFile() || st.uid !== owner) continue;
    rmSync(leftover, { force: true });
    removed.push(leftover);
  }
  return removed;
}

/** Saves the original as `<path>.nrcert-backup-<UTC time>` (with -2, -3… if that name is taken). */
function writeBackup(path: string, raw: Buffer, mode: number, ownership: Ownership, now: Date): string {
  const stamp = formatTimestamp(now);
  for (let n = 1; ; n++) {
    const backup = `${path}.nrcert-backup-${stamp}${n > 1 ? `-${n}` : ''}`;
    try {
      writeFileSyncedSync(backup, raw, mode, ownership);
      return backup;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || n >= 100) throw err;
    }
  }
}

/**
 * Runs `node --check` (which only parses) for its syntax message, then loads the file with
 * probeSettings as Node-RED would: as the file's owner when run as root, without nrcert's
 * secrets in its environment. Any problem is a refusal.
 */
async function checkSettings(path: string, file: string, callHttps: boolean, opts: EditOptions, check: SettingsCheck): Promise<void> {
  const timeout = opts.timeoutMs ?? 20_000;
  try {
    await promisify(execFile)(opts.node ?? process.execPath, ['--check', file], { cwd: dirname(file), timeout, encoding: 'utf8' });
  } catch (err) {
    const stderr = String((err as { stderr?: string }).stderr ?? '');
    const line = stderr.split('\n').find((l) => /^\w*Error\b/.test(l)) ?? (err as Error).message;
    throw refusal(path, `the edited file fails node --check (${line})`); // no cause: its stderr quotes source lines
  }
  const probe = await probeSettings(file, { node: opts.node, timeoutMs: timeout });
  if (!probe.found || probe.error) throw refusal(path, `loading the edited file in node failed (${probe.error ?? 'it is gone'})`);
  const problems = check(probe, callHttps);
  if (problems.length > 0) throw refusal(path, `the edited file does not work: ${problems.join('; ')}`);
}

/** What is wrong with the https settings the probe found, if anything; https() counts only when CERT_DIR has a key. */
function httpsProblems(p: SettingsProbe, callHttps: boolean): string[] {
  const problems: string[] = [];
  if (p.https !== 'function') problems.push(`settings.https is ${p.https}, not a function (is it set again further down?)`);
  if (!((p.httpsRefreshInterval ?? 0) > 0)) problems.push('settings.httpsRefreshInterval is not a positive number');
  if (!p.requireHttps) problems.push('settings.requireHttps is not true');
  if (callHttps && p.https === 'function') {
    if (p.httpsError) problems.push(p.httpsError);
    else if (p.tlsError) problems.push(`settings.https() failed: TLS refuses the key and certificate it returns (${p.tlsError})`);
  }
  return problems;
}

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
import { nrcertCommand } from '../util/hint';
import { adminMiddlewareLines, clientCertLines, clientCertProblems, type ClientCertSettings } from './settings-clients';

export { clientCertModeIn, type ClientCertMode, type ClientCertSettings } from './settings-clients';

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
    `${path}: ${reason}. Nothing was changed; paste the lines printed by \`${nrcertCommand('settings')}\` ` +
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

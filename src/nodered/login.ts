/**
 * A login for Node-RED's editor (adminAuth) and, on request, for the dashboard and http-in nodes
 * (httpNodeAuth) and static files (httpStaticAuth): one user, one bcrypt hash, written into its
 * own marked block of settings.js through the same backed-up, node-checked edit as the https
 * block. The hash is made with bcryptjs, as Node-RED itself checks it (never by shelling out to
 * `node-red admin hash-pw`); the password exists only in memory, never in a log, a file or output.
 */
import { readFile } from 'node:fs/promises';
import { InstallError, UsageError } from '../errors';
import { ScanError } from './js-scan';
import type { Secret } from '../config/secret';
import { applyEdit, type ApplyResult, type EditOptions } from './settings';
import { editSettings, type BlockSpec } from './settings-edit';
import type { SettingsProbe } from './settings-probe';

/** The first line of the login block in settings.js. */
export const LOGIN_BEGIN = '// nrcert: login begin';
/** The last line of the login block in settings.js. */
export const LOGIN_END = '// nrcert: login end';

/** bcrypt cost, as `node-red admin hash-pw` uses: httpNodeAuth checks it on requests, and a Pi Zero is slow. */
export const BCRYPT_ROUNDS = 8;

/** Which parts of Node-RED the login protects. */
export interface LoginScope {
  /** The dashboard and http-in nodes (httpNodeAuth). */
  nodes: boolean;
  /** httpStatic files (httpStaticAuth). */
  static: boolean;
}

/** A user name Node-RED and HTTP basic auth both accept: no colon, no spaces or control characters. */
export function checkUserName(name: string): string {
  if (!/^[A-Za-z0-9._@-]{1,64}$/.test(name)) {
    throw new UsageError(`--admin-user: "${name.replace(/[^\x20-\x7e]/g, '?')}" is not a user name: use 1 to 64 letters, digits, . _ @ -`);
  }
  return name;
}

/** Refuses a password too short to be one (Node-RED itself takes anything). */
export function checkPassword(password: Secret): void {
  if (password.reveal().length < 8) throw new UsageError('the password must have at least 8 characters');
}

/** The bcrypt hash of `password` (bcryptjs is loaded here, on first use only). */
export async function hashPassword(password: Secret): Promise<string> {
  const bcrypt = (await import('bcryptjs')).default;
  return bcrypt.hash(password.reveal(), BCRYPT_ROUNDS);
}

/** The settings.js lines of the login block. */
export function loginBlock(login: { user: string; hash: string; scope: LoginScope }, indent = '    ', eol = '\n'): string {
  const [a, b, c] = [indent, indent.repeat(2), indent.repeat(3)];
  const user = JSON.stringify(login.user);
  const hash = JSON.stringify(login.hash);
  const lines = [
    `${a}${LOGIN_BEGIN} (managed by nrcert; \`nrcert settings --apply --admin-user …\` rewrites this block)`,
    `${a}// The editor and its admin API ask for this user and password (bcrypt hash; the password is stored nowhere).`,
    `${a}adminAuth: {`,
    `${b}type: "credentials",`,
    `${b}users: [{`,
    `${c}username: ${user},`,
    `${c}password: ${hash},`,
    `${c}permissions: "*"`,
    `${b}}]`,
    `${a}},`,
  ];
  if (login.scope.nodes) lines.push(`${a}// The dashboard and http-in nodes ask for the same login (HTTP basic auth).`, `${a}httpNodeAuth: { user: ${user}, pass: ${hash} },`);
  if (login.scope.static) lines.push(`${a}// Files under httpStatic too.`, `${a}httpStaticAuth: { user: ${user}, pass: ${hash} },`);
  lines.push(`${a}${LOGIN_END}`);
  return lines.join(eol) + eol;
}

/** The block spec for a login with this scope. */
function loginSpec(scope: LoginScope): BlockSpec {
  const keys = ['adminAuth', ...(scope.nodes ? ['httpNodeAuth'] : []), ...(scope.static ? ['httpStaticAuth'] : [])];
  return { begin: LOGIN_BEGIN, end: LOGIN_END, keys, existing: 'refuse' };
}

/**
 * Refuses, before anything is written, a login that cannot go into this settings.js (a login the
 * user made by hand, a file nrcert cannot follow): so `settings --apply --admin-user` changes
 * either both blocks or neither.
 */
export async function checkLoginFits(settingsPath: string, scope: LoginScope): Promise<void> {
  const source = await readFile(settingsPath, 'utf8').catch(() => null);
  if (source === null) return; // applySettings names a missing or unreadable file
  try {
    editSettings(source, () => '', loginSpec(scope));
  } catch (err) {
    if (!(err instanceof ScanError)) throw err;
    throw new InstallError(`${settingsPath}: cannot add the login: ${err.message}. Nothing was changed`);
  }
}

/**
 * Writes the login into settings.js (backed up, checked by loading it in node: adminAuth must
 * come out as this user with this hash). A login the user set by hand outside the block is
 * refused, never replaced.
 */
export async function applyLogin(opts: EditOptions & { user: string; password: Secret; scope: LoginScope }): Promise<ApplyResult> {
  checkUserName(opts.user);
  checkPassword(opts.password);
  const hash = await hashPassword(opts.password);
  const login = { user: opts.user, hash, scope: opts.scope };
  return applyEdit(opts, (source) => editSettings(source, (indent, eol) => loginBlock(login, indent, eol), loginSpec(opts.scope)), (probe) => loginProblems(probe, login));
}

/** What is wrong with the login the probe found after the edit. */
function loginProblems(p: SettingsProbe, login: { user: string; hash: string; scope: LoginScope }): string[] {
  const problems: string[] = [];
  const users = p.adminAuth?.users;
  const found = p.adminAuth?.type === 'credentials' && Array.isArray(users) && users.some((u) => u.username === login.user && u.password === 'bcrypt' && u.permissions === '"*"');
  if (!found) problems.push('settings.adminAuth does not hold the new user with a bcrypt password (is adminAuth set again further down?)');
  const basic = (b: SettingsProbe['httpNodeAuth']) => b?.kind === 'basic' && b.user === true && b.pass === 'bcrypt';
  if (login.scope.nodes && !basic(p.httpNodeAuth)) problems.push('settings.httpNodeAuth is not the new login (set again further down?)');
  if (login.scope.static && !basic(p.httpStaticAuth)) problems.push('settings.httpStaticAuth is not the new login (set again further down?)');
  return problems;
}

/** The first line of a password file, or a UsageError naming the file (never its content). */
export function passwordFromFile(text: string, path: string): string {
  const line = text.split(/\r?\n/)[0] ?? '';
  if (!line) throw new UsageError(`--admin-password-file ${path} is empty; put the password on its first line`);
  return line;
}


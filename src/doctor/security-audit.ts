/**
 * Check 10: a security audit of Node-RED's settings.js, after Node-RED's "Securing Node-RED"
 * guide (https://nodered.org/docs/user-guide/runtime/securing-node-red) and the community's
 * hardening advice: a password on the editor (bcrypt, not the sample), on the dashboard and
 * static files when they are served, requireHttps, where Node-RED listens, and credentialSecret.
 * Pure: it judges what nodered/settings-probe.ts found, so it runs on any variant of settings.js.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BasicAuthSummary, SettingsProbe } from '../nodered/settings-probe';
import { fail, ok, skip, warn, type CheckResult } from './types';
import { nrcertCommand } from '../util/hint';

/** Dashboard packages that serve pages under httpNodeRoot. */
export const DASHBOARD_PACKAGES = ['node-red-dashboard', '@flowfuse/node-red-dashboard', '@flowforge/node-red-dashboard'];

const SECURING = 'https://nodered.org/docs/user-guide/runtime/securing-node-red';
const HASH_PW = 'make a hash with: node-red admin hash-pw';

/** What else the audit needs to know: the dashboard package installed in the user dir, if any. */
export interface AuditContext {
  dashboard: string | null;
}

/** The dashboard package listed in userDir/package.json, or null. */
export async function installedDashboard(userDir: string): Promise<string | null> {
  try {
    const pkg = JSON.parse(await readFile(join(userDir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    return DASHBOARD_PACKAGES.find((name) => pkg.dependencies?.[name] !== undefined) ?? null;
  } catch {
    return null;
  }
}

/** The audit's lines, one per setting: security.adminAuth, .httpNodeAuth, .httpStaticAuth, .requireHttps, .uiHost, .credentialSecret. */
export function auditSecurity(probe: SettingsProbe, ctx: AuditContext): CheckResult[] {
  if (!probe.found || probe.error) {
    return ['adminAuth', 'httpNodeAuth', 'httpStaticAuth', 'requireHttps', 'uiHost', 'credentialSecret']
      .map((name) => skip(`security.${name}`, 'settings.js could not be read (see the settings line)'));
  }
  return [adminAuth(probe), httpNodeAuth(probe, ctx), httpStaticAuth(probe), requireHttps(probe), uiHost(probe), credentialSecret(probe)];
}

/** True when Node-RED listens on the loopback interface only. */
function loopbackOnly(probe: SettingsProbe): boolean {
  const host = probe.uiHost ?? '';
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

function adminAuth(probe: SettingsProbe): CheckResult {
  const id = 'security.adminAuth';
  if (probe.httpAdminRoot === false) return ok(id, 'the editor and admin API are switched off (httpAdminRoot: false)');
  const a = probe.adminAuth;
  if (!a) {
    return fail(id, 'adminAuth is not set: anyone who reaches the editor can run code on this machine',
      `${HASH_PW}, then set adminAuth (type "credentials") in settings.js: ${SECURING}#usernamepassword-based-authentication`);
  }
  if (a.defaultPermissions !== null && a.defaultPermissions !== 'function' && a.defaultPermissions.includes('*')) {
    return fail(id, 'adminAuth.default gives everyone who is not logged in full access to the editor', 'remove adminAuth.default from settings.js');
  }
  if (a.type !== 'credentials' && a.type !== 'strategy') {
    return warn(id, `adminAuth.type is "${a.type}", neither "credentials" nor "strategy": check that the editor asks for a login`, `see ${SECURING}`);
  }
  if (a.users === 'function') return ok(id, `adminAuth (${a.type}) takes its users from a function: not audited`);
  const sample = a.users.filter((u) => u.password === 'sample').map((u) => u.username);
  if (sample.length > 0) {
    return fail(id, `adminAuth user ${sample.join(', ')} has the example password ("password") from Node-RED's sample settings`, `${HASH_PW}, and replace the hash in settings.js`);
  }
  const plain = a.users.filter((u) => a.type === 'credentials' && u.password !== 'bcrypt').map((u) => u.username);
  if (plain.length > 0) {
    return fail(id, `the password of adminAuth user ${plain.join(', ')} is not a bcrypt hash ($2a$/$2b$/$2y$): it is stored in clear, or the user cannot log in`,
      `${HASH_PW}, and put the hash in settings.js`);
  }
  if (a.type === 'credentials' && a.users.length === 0) return warn(id, 'adminAuth lists no users: nobody can log in to the editor', `${HASH_PW}, and add a user`);
  if (a.defaultPermissions !== null) {
    return warn(id, `adminAuth.default lets anyone who reaches the editor ${a.defaultPermissions === 'function' ? 'in, as a function decides' : `in with permissions ${a.defaultPermissions}`}`,
      'remove adminAuth.default unless anonymous access is intended');
  }
  const users = a.type === 'credentials' ? `: ${a.users.length} user${a.users.length === 1 ? '' : 's'} with bcrypt password hashes` : ' (strategy)';
  return ok(id, `the editor asks for a login${users}`);
}

/** A user + bcrypt-hash pair, judged; null when it is fine. */
function judgeBasic(id: string, name: string, auth: BasicAuthSummary): CheckResult | null {
  if (auth.kind === 'middleware') return null;
  if (!auth.user) return fail(id, `${name} has no user`, `set ${name}: {user: "…", pass: "<hash>"}; ${HASH_PW}`);
  if (auth.pass === 'sample') return fail(id, `${name} uses the example password ("password") from Node-RED's sample settings`, `${HASH_PW}, and replace pass in settings.js`);
  if (auth.pass === 'md5') return warn(id, `${name}.pass is a legacy MD5 hash, quick to crack if settings.js leaks`, `${HASH_PW} (bcrypt), and replace pass in settings.js`);
  if (auth.pass !== 'bcrypt') return fail(id, `${name}.pass is not a bcrypt hash: it is stored in clear, or nobody can log in`, `${HASH_PW}, and put it in pass`);
  return null;
}

/** Unprotected pages: a failure when Node-RED listens beyond loopback, else a warning. */
function unprotected(probe: SettingsProbe, id: string, what: string, fix: string): CheckResult {
  if (loopbackOnly(probe)) {
    return warn(id, `${what} without a password; Node-RED listens on loopback only, so only a reverse proxy (which should ask for one) or local users reach it`, fix);
  }
  return fail(id, `${what} without a password to anyone who can reach this machine`, fix);
}

function httpNodeAuth(probe: SettingsProbe, ctx: AuditContext): CheckResult {
  const id = 'security.httpNodeAuth';
  if (probe.httpNodeRoot === false) return ok(id, 'HTTP-in endpoints and the dashboard are switched off (httpNodeRoot: false)');
  const auth = probe.httpNodeAuth;
  if (auth) {
    return judgeBasic(id, 'httpNodeAuth', auth)
      ?? ok(id, `the dashboard and HTTP-in endpoints ask for a password${auth.kind === 'middleware' ? ' (custom middleware: not audited)' : ''}`);
  }
  if (ctx.dashboard) {
    return unprotected(probe, id, `the dashboard (${ctx.dashboard}) is served, with its controls,`,
      `set httpNodeAuth: {user: "…", pass: "<hash>"} in settings.js (${HASH_PW}); it also covers HTTP-in endpoints`);
  }
  return ok(id, 'no dashboard is installed; httpNodeAuth is not set, so HTTP-in endpoints of your flows are open (set it if they should not be)');
}

function httpStaticAuth(probe: SettingsProbe): CheckResult {
  const id = 'security.httpStaticAuth';
  if (!probe.httpStatic) return ok(id, 'httpStatic is not set: no static files are served');
  const auth = probe.httpStaticAuth;
  if (auth) return judgeBasic(id, 'httpStaticAuth', auth) ?? ok(id, 'the static files (httpStatic) ask for a password');
  return unprotected(probe, id, 'the files in httpStatic are served', `set httpStaticAuth: {user: "…", pass: "<hash>"} in settings.js (${HASH_PW}), or remove httpStatic`);
}

function requireHttps(probe: SettingsProbe): CheckResult {
  const id = 'security.requireHttps';
  const scope = 'it redirects only the editor and admin API, and only requests that reach Node-RED as plain HTTP through a reverse proxy (the dashboard and HTTP-in endpoints are not redirected)';
  if (probe.requireHttps) return ok(id, `requireHttps is on; ${scope}`);
  return warn(id, `requireHttps is not set: behind a reverse proxy, the editor also answers over plain HTTP (${scope.replace('it redirects', 'when set, it redirects')})`,
    `${nrcertCommand('settings')} --apply --settings ${probe.path} (sets requireHttps: true)`);
}

function uiHost(probe: SettingsProbe): CheckResult {
  const id = 'security.uiHost';
  const host = probe.uiHost;
  if (!host || host === '0.0.0.0' || host === '::') {
    const what = host === '::' ? 'all interfaces (uiHost "::")' : `all IPv4 interfaces (uiHost ${host ? '"0.0.0.0"' : 'is not set, so 0.0.0.0'})`;
    return warn(id, `Node-RED listens on ${what}: every device that can reach this machine (the internet too, if a router forwards the port) reaches the editor and dashboard. Fine if that is intended`,
      'set uiHost: "127.0.0.1" when only a reverse proxy on this machine should reach Node-RED, or this machine\'s LAN address');
  }
  return ok(id, `Node-RED listens on ${host} only${loopbackOnly(probe) ? ' (this machine, or a reverse proxy on it)' : ''}`);
}

function credentialSecret(probe: SettingsProbe): CheckResult {
  const id = 'security.credentialSecret';
  const fix = 'set credentialSecret: "<a long random string>" in settings.js and keep a copy of it; Node-RED re-encrypts the credentials with it at the next deploy';
  switch (probe.credentialSecret) {
    case 'set':
      return ok(id, 'credentialSecret is set: the credentials of your flows are encrypted with your own key');
    case 'sample':
      return warn(id, 'credentialSecret is "a-secret-key", the example from Node-RED\'s settings.js: anyone can decrypt the credentials of your flows', fix);
    case 'disabled':
      return warn(id, 'credentialSecret is false: the credentials of your flows (passwords, API keys) are stored unencrypted', fix);
    default:
      return warn(id, 'credentialSecret is not set: the credentials of your flows are encrypted with a key Node-RED generated and stored beside them (.config.runtime.json), ' +
        'so a copy of the user directory is all it takes to read them (if settings.js takes the secret from an environment variable, run doctor with it set)', fix);
  }
}

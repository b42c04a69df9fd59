import { readFileSync, type Stats } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../../config/config';
import { resolveOwnership } from '../../config/ownership';
import { describeError } from '../../errors';
import { firstBlockedFolder } from '../../privilege/traverse';
import { byId } from '../../privilege/users';
import { codeOf, fail, ok, skip, warn, type CheckResult } from '../types';
import { nrcertCommand } from '../../util/hint';

const ID = 'permissions';

/** Who is asking: the running user's uid (0 = root). */
export interface PermissionsDeps {
  uid: number;
}

const octal = (mode: number) => (mode & 0o777).toString(8).padStart(4, '0');

/**
 * Check 5: who can read the key. privkey.pem (links followed) must not be readable or writable
 * by others; readable by its group only when CERT_GROUP says so (and then by that group); owned
 * by CERT_OWNER, or else by whoever nrcert writes files as (the running user; as root, the
 * owner of CERT_DIR). CERT_DIR itself must not be writable by others, who could swap the links.
 */
export async function checkPermissions(config: Config | undefined, deps: PermissionsDeps): Promise<CheckResult> {
  if (!config) return skip(ID, 'needs a valid configuration (see above)');
  const dir = await statOf(config.certDir);
  if ('code' in dir) {
    if (dir.code === 'ENOENT') return skip(ID, `CERT_DIR ${config.certDir} does not exist yet`, `${nrcertCommand('renew')} creates it`);
    return unreachable(config.certDir, dir.code) ?? fail(ID, `cannot look at CERT_DIR ${config.certDir} (${dir.code})`, `run ${nrcertCommand('doctor')} as the user nrcert runs as`);
  }
  const dirStat = dir.stat;
  if (dirStat.mode & 0o002) {
    return fail(ID, `CERT_DIR ${config.certDir} is writable by every user (mode ${octal(dirStat.mode)}): anyone could swap the certificate Node-RED serves`,
      `chmod o-w ${config.certDir}`);
  }
  const keyLink = join(config.certDir, 'privkey.pem');
  const keyPath = await realpath(keyLink).catch(() => keyLink);
  const key = await statOf(keyPath);
  if ('code' in key) {
    if (key.code === 'ENOENT') return skip(ID, `no privkey.pem in ${config.certDir} yet`, `${nrcertCommand('renew')} installs one`);
    return unreachable(keyLink, key.code) ?? fail(ID, `cannot look at ${keyPath} (${key.code})`, `run ${nrcertCommand('doctor')} as the user nrcert runs as`);
  }
  let wanted: { uid?: number; gid?: number };
  try {
    wanted = resolveOwnership(config.certOwner, config.certGroup);
  } catch (err) {
    return fail(ID, describeError(err), 'fix CERT_OWNER / CERT_GROUP');
  }
  return judgeKey(config, keyPath, key.stat, wanted, deps.uid === 0 ? dirStat.uid : deps.uid);
}

/** A failure naming the folder that cannot be traversed on the way to `path`, when that is why. */
function unreachable(path: string, code: string): CheckResult | null {
  if (code !== 'EACCES') return null;
  const blocked = firstBlockedFolder(path);
  if (!blocked) return null;
  const uid = process.geteuid?.() ?? -1;
  const user = byId('user', uid)?.name ?? String(uid);
  return fail(ID, `the folder ${blocked} cannot be traversed by user ${user} (uid ${uid}), so ${path} cannot be reached`,
    `sudo setfacl -m u:${user}:x ${blocked} (lets ${user} pass through it, without listing or reading it)`);
}

/** stat(), or the error code. */
async function statOf(path: string): Promise<{ stat: Stats } | { code: string }> {
  try {
    return { stat: await stat(path) };
  } catch (err) {
    return { code: codeOf(err) };
  }
}

function judgeKey(config: Config, path: string, st: { mode: number; uid: number; gid: number }, wanted: { uid?: number; gid?: number }, writerUid: number): CheckResult {
  const mode = octal(st.mode);
  const tight = config.certGroup ? '640' : '600';
  if (st.mode & 0o007) {
    return fail(ID, `the private key ${path} is ${st.mode & 0o004 ? 'readable' : 'accessible'} by every user on this machine (mode ${mode})`, `chmod ${tight} ${path}`);
  }
  if (st.mode & 0o020) return fail(ID, `the private key ${path} is writable by its group (mode ${mode})`, `chmod ${tight} ${path}`);
  if (st.mode & 0o040 && !config.certGroup) {
    return fail(ID, `the private key ${path} is readable by the group ${groupName(st.gid)} (mode ${mode}), but CERT_GROUP is not set`,
      `chmod 600 ${path} (or set CERT_GROUP=${bareName('/etc/group', st.gid)} if Node-RED reads the key through that group)`);
  }
  if (config.certGroup && wanted.gid !== undefined && st.gid !== wanted.gid) {
    return fail(ID, `the private key ${path} belongs to the group ${groupName(st.gid)}, not CERT_GROUP=${config.certGroup}: Node-RED may not be able to read it`,
      `chown :${config.certGroup} ${path} && chmod 640 ${path} (${nrcertCommand('renew')} --force also rewrites it)`);
  }
  const owner = wanted.uid ?? writerUid;
  if (st.uid !== owner) {
    if (wanted.uid !== undefined) {
      return fail(ID, `the private key ${path} is owned by ${userName(st.uid)}, not CERT_OWNER=${config.certOwner}`, `sudo chown ${config.certOwner} ${path}`);
    }
    return warn(ID, `the private key ${path} is owned by ${userName(st.uid)}, not by ${userName(owner)}, who runs this check`,
      `run ${nrcertCommand('doctor')} as the user nrcert runs as (e.g. sudo -u ${bareName('/etc/passwd', st.uid)} ${nrcertCommand('doctor')}), or set CERT_OWNER`);
  }
  return ok(ID, `the private key ${path} is ${mode}, owned by ${userName(st.uid)}${config.certGroup ? `, readable by the group ${groupName(st.gid)}` : ''}`);
}

/** "name (uid N)" from /etc/passwd, or "uid N". */
function userName(uid: number): string {
  return nameFrom('/etc/passwd', uid, 'uid');
}

function groupName(gid: number): string {
  return nameFrom('/etc/group', gid, 'gid');
}

function nameFrom(file: string, id: number, what: string): string {
  const name = bareName(file, id);
  return name === String(id) ? `${what} ${id}` : `${name} (${what} ${id})`;
}

/** The name of a uid or gid from /etc/passwd or /etc/group, else the number. */
function bareName(file: string, id: number): string {
  try {
    const line = readFileSync(file, 'utf8').split('\n').find((l) => l.split(':')[2] === String(id));
    if (line) return line.split(':')[0];
  } catch {
    // fall through
  }
  return String(id);
}

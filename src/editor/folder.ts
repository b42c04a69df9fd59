/**
 * EDITOR_DIR: what nrcert publishes for the Node-RED editor (the node-red-contrib-nrcert sidebar)
 * and the one folder Node-RED may write into. Layout (see /deploy/node-red and the README):
 *
 *   EDITOR_DIR/                 0750  owner: CERT_DIR's owner, group: the group that reads privkey.pem
 *   EDITOR_DIR/status.json      0640  status --json, plus what the service last saw
 *   EDITOR_DIR/doctor.json      0640  doctor's checks and the security audit
 *   EDITOR_DIR/events.json      0640  the last 50 notifications
 *   EDITOR_DIR/clients.json     0640  the client certificates (when the client CA exists)
 *   EDITOR_DIR/jobs.json        0640  the last 20 requests and what became of them
 *   EDITOR_DIR/requests/        3770  setgid + sticky: Node-RED drops <id>.json here; nrcert reads and removes it
 *
 * Nothing here is a secret. Run as root, every step happens as the owner of the folder's
 * location (privilege/as-owner.ts), with the group above, so a link planted by anyone leads
 * nowhere that owner could not reach; folders are never followed when they are links.
 */
import { lstatSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Config } from '../config/config';
import { resolveOwnership } from '../config/ownership';
import { InstallError } from '../errors';
import { asUser, ownerOf, runningAsRoot, type Identity, type NotPromise } from '../privilege/as-owner';
import { ensureRealDirSync, setDirModeSync, writeFileAtomicSync } from '../store/atomic';

/** The version of every published file's shape (`version` in each). */
export const EDITOR_FORMAT_VERSION = 1;

/** The files nrcert publishes. */
export const EDITOR_FILES = {
  status: 'status.json',
  doctor: 'doctor.json',
  events: 'events.json',
  clients: 'clients.json',
  jobs: 'jobs.json',
} as const;

/** The spool folder inside EDITOR_DIR. */
export const REQUESTS_DIR = 'requests';

/** Modes: the folder, the spool (setgid + sticky, group-writable), every published file. */
export const EDITOR_DIR_MODE = 0o750;
export const REQUESTS_DIR_MODE = 0o3770;
export const EDITOR_FILE_MODE = 0o640;

/** Where the editor folder is and whom its files belong to. */
export interface EditorFolder {
  dir: string;
  /** The group that reads privkey.pem: CERT_GROUP, else CERT_DIR's group; undefined = leave as created. */
  group?: number;
}

/**
 * The editor folder of `config`, or null when it is not in use: EDITOR_DIR set, or the default
 * CERT_DIR/editor existing (made by `nrcert settings --apply --editor-plugin` or `nrcert editor init`).
 */
export function editorFolder(config: Config): EditorFolder | null {
  if (!config.editor.explicit && !statSync(config.editor.dir, { throwIfNoEntry: false })?.isDirectory()) return null;
  return editorFolderOf(config);
}

/** The editor folder of `config`, in use or not. */
export function editorFolderOf(config: Config): EditorFolder {
  const gid = resolveOwnership(undefined, config.certGroup).gid ?? statSync(config.certDir, { throwIfNoEntry: false })?.gid;
  return { dir: config.editor.dir, group: gid };
}

/** EDITOR_DIR/requests */
export function requestsDir(folder: EditorFolder): string {
  return join(folder.dir, REQUESTS_DIR);
}

/**
 * Runs synchronous file work in the editor folder: as root, with the uid of whoever controls
 * its location and the folder's group (so files can be given to it); as anyone else, directly.
 */
export function inEditorFolder<T>(folder: EditorFolder, work: () => NotPromise<T>): T {
  if (!runningAsRoot()) return work();
  const owner = ownerOf(folder.dir);
  if (owner.uid === 0) return work();
  const who: Identity = folder.group === undefined ? owner : { uid: owner.uid, gid: folder.group, groups: [folder.group, owner.gid] };
  return asUser(who, work);
}

/**
 * Creates EDITOR_DIR (0750) and its spool (3770) when missing, and sets their modes and group,
 * never through a link. Its parent must exist (CERT_DIR, or the folder EDITOR_DIR names).
 */
export function ensureEditorFolder(folder: EditorFolder): void {
  try {
    inEditorFolder(folder, () => {
      if (!statSync(dirname(folder.dir), { throwIfNoEntry: false })?.isDirectory()) {
        throw new InstallError(`EDITOR_DIR: the folder ${dirname(folder.dir)} does not exist; create it (or run nrcert renew first, which creates CERT_DIR)`);
      }
      ensureDir(folder.dir, EDITOR_DIR_MODE, folder.group);
      ensureDir(requestsDir(folder), REQUESTS_DIR_MODE, folder.group);
    });
  } catch (err) {
    if (err instanceof InstallError) throw err;
    throw new InstallError(`EDITOR_DIR: cannot prepare ${folder.dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); check that folder and its permissions`, { cause: err });
  }
}

/**
 * Makes `path` a real folder (never a link) with `mode` and `group`, touching it only when it
 * differs: the units' RestrictSUIDSGID=yes refuses every mkdir/chmod that asks for the setgid bit
 * (EPERM, even for a folder that exists), so a spool made 3770 outside the unit (`nrcert editor
 * init`, `settings --apply --editor-plugin`, the install script) is left alone, and one the
 * service has to make itself is 1770 (request files then keep their writer's group).
 */
function ensureDir(path: string, mode: number, group: number | undefined): void {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (!st) ensureRealDirSync(path, mode & 0o777);
  else if (st.isSymbolicLink() || !st.isDirectory()) ensureRealDirSync(path, mode & 0o777); // throws, naming it
  if (st && (st.mode & 0o7777) === mode && (group === undefined || st.gid === group)) return;
  try {
    setDirModeSync(path, mode, { group });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM' || !(mode & 0o2000)) throw err;
    setDirModeSync(path, mode & ~0o2000, { group });
  }
}

/** Replaces EDITOR_DIR/`name` with `value` as JSON, atomically, mode 0640, the folder's group. */
export function writeEditorFile(folder: EditorFolder, name: string, value: unknown): void {
  const text = `${JSON.stringify(value, null, 2)}\n`;
  inEditorFolder(folder, () => writeFileAtomicSync(join(folder.dir, name), text, EDITOR_FILE_MODE, { group: folder.group }));
}

/**
 * Why a path cannot be reached. Debian bookworm makes home folders 0700, so a dedicated `nrcert`
 * user (or Node-RED's) may be unable to pass through /home/pi on the way to ~/.node-red/certs;
 * "cannot read cert.pem" then points at the wrong thing. This names the folder and the fix.
 */
import { lstatSync, readlinkSync } from 'node:fs';
import { join, parse, resolve, sep } from 'node:path';
import { byId } from './users';

/**
 * The first folder on the way to `path` (links followed, as open() would) that the current
 * (effective) user cannot pass through, or null when every folder can be passed. Tested by
 * looking up the next name inside each folder, which needs exactly search (x) permission, with
 * the effective ids (unlike access(2)).
 */
export function firstBlockedFolder(path: string): string | null {
  let pending = components(resolve(path));
  let folder = '/';
  for (let hops = 0; pending.length > 0 && hops < 40; ) {
    const next = join(folder, pending.shift() as string);
    let isLink: boolean;
    try {
      isLink = lstatSync(next).isSymbolicLink();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EACCES') return folder;
      return null; // missing or another problem: not a traversal one
    }
    if (!isLink) {
      folder = next;
      continue;
    }
    hops++;
    const target = resolve(folder, readlinkSync(next));
    pending = [...components(target), ...pending];
    folder = '/';
  }
  return null;
}

function components(absolute: string): string[] {
  return absolute.slice(parse(absolute).root.length).split(sep).filter(Boolean);
}

/**
 * A sentence naming the folder that keeps the current user from reaching `path`, with the fix,
 * or null when traversal is not the problem.
 */
export function explainUnreachable(path: string): string | null {
  const blocked = firstBlockedFolder(path);
  if (!blocked) return null;
  const uid = process.geteuid?.() ?? -1;
  const user = byId('user', uid)?.name ?? String(uid);
  return `the folder ${blocked} cannot be traversed by user ${user} (uid ${uid}), so ${path} cannot be reached; ` +
    `let it pass through (no listing, no reading): sudo setfacl -m u:${user}:x ${blocked}`;
}

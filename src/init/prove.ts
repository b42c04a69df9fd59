/**
 * Before `nrcert init` says "Done": can Node-RED read what it was given? Run as root, init
 * installs files Node-RED reads as its own user (the owner of its user directory); a key that
 * user cannot read makes Node-RED crash-loop on EACCES. So the key and the chain are read once as
 * that user, with that user's groups, and a failure is named with its fix.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { asUser, ownerOf, runningAsRoot } from '../privilege/as-owner';
import { explainUnreachable } from '../privilege/traverse';
import { byId, describeUser, groupsOf } from '../privilege/users';
import { nrcertCommand } from '../util/hint';

/** What Node-RED's user cannot read in CERT_DIR, as a sentence with the fix; null when it can (or when not root). */
export function nodeRedCannotRead(certDir: string, nodeRedDir: string): string | null {
  if (!runningAsRoot()) return null; // init and Node-RED run as the same user, who just wrote the files
  const owner = ownerOf(nodeRedDir);
  if (owner.uid === 0) return null;
  const who = { ...owner, groups: groupsOf(owner.uid, owner.gid) };
  return asUser(who, () => {
    for (const name of ['privkey.pem', 'fullchain.pem']) {
      const path = join(certDir, name);
      const problem = unreadable(path);
      if (problem) {
        return `Node-RED runs as ${describeUser(owner.uid)}, the owner of ${nodeRedDir}, and cannot read ${path}: ${problem}`;
      }
    }
    return null;
  });
}

function unreadable(path: string): string | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    if (code !== 'EACCES') return `${code}`;
    const user = byId('user', process.geteuid?.() ?? -1)?.name ?? String(process.geteuid?.());
    return explainUnreachable(path) ?? `permission denied (fix: sudo chown ${user} ${path}, or set CERT_OWNER/CERT_GROUP and run ${nrcertCommand('renew --force')})`;
  }
  try {
    readSync(fd, Buffer.alloc(1));
    return null;
  } finally {
    closeSync(fd);
  }
}

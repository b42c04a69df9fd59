/**
 * Who root acts as in CERT_DIR, and who owns the folders it creates there. CERT_DIR's files are
 * given to CERT_OWNER (or CERT_DIR's owner) and CERT_GROUP, but the work is done as the folder's
 * owner (see as-owner.ts), and the two must agree: root never writes as itself where someone else
 * could have placed a link.
 */
import { statSync } from 'node:fs';
import { InstallError } from '../errors';
import type { Ownership } from '../store/atomic';
import { ownerOf, runningAsRoot, type Identity } from './as-owner';
import { byId, describeUser } from './users';

/**
 * The identity for file work in `certDir`, or null to work as this process (not root, or a
 * CERT_DIR only root controls). `changes`: the work writes, so a CERT_DIR whose own owner is not
 * the user who controls it (a root-owned CERT_DIR made by an older init in pi's folder) is
 * refused with the fix.
 */
export function certDirActor(certDir: string, ownership: Ownership, changes: boolean): Identity | null {
  if (!runningAsRoot()) return null;
  const owner = ownerOf(certDir);
  if (owner.uid === 0) return null;
  if (ownership.owner !== undefined && ownership.owner !== owner.uid) {
    throw new InstallError(
      `CERT_OWNER is ${describeUser(ownership.owner)}, but CERT_DIR ${certDir} belongs to ${describeUser(owner.uid)}; ` +
        `root works in a folder only as its owner: sudo chown -R ${ownership.owner} ${certDir}, or unset CERT_OWNER`,
    );
  }
  const dirUid = statSync(certDir, { throwIfNoEntry: false })?.uid;
  if (changes && dirUid !== undefined && dirUid !== owner.uid) {
    throw new InstallError(
      `CERT_DIR ${certDir} belongs to ${describeUser(dirUid)}, inside a folder of ${describeUser(owner.uid)}, who could replace it; ` +
        `root works there only as ${describeUser(owner.uid)}: sudo chown -R ${owner.uid}: ${certDir}, then run nrcert again`,
    );
  }
  return { uid: owner.uid, gid: ownership.group ?? owner.gid };
}

/**
 * Ownership for the folders nrcert creates in CERT_DIR (`.nrcert`, lineage folders). A root run
 * in root's CERT_DIR keeps them root's, with CERT_GROUP, else CERT_OWNER's primary group (for a
 * uid without a name, the same number), so Node-RED can pass through them: a folder given to
 * CERT_OWNER would let that user plant links where root later works as itself. Otherwise they
 * get the files' ownership.
 */
export function certDirFolderOwnership(certDir: string, ownership: Ownership): Ownership {
  if (!runningAsRoot() || ownership.owner === undefined || ownership.owner === 0) return ownership;
  if (ownerOf(certDir).uid !== 0) return ownership;
  return { group: ownership.group ?? byId('user', ownership.owner)?.gid ?? ownership.owner };
}

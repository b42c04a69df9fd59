import { ConfigError } from '../errors';
import { ownerOf, runningAsRoot } from '../privilege/as-owner';
import { byName } from '../privilege/users';

/** Resolves CERT_OWNER / CERT_GROUP (a name or a number) to numeric ids, naming the setting on failure. */
export function resolveOwnership(owner?: string, group?: string): { uid?: number; gid?: number } {
  const problems: string[] = [];
  const uid = owner ? lookup(owner, 'user', 'CERT_OWNER', problems) : undefined;
  const gid = group ? lookup(group, 'group', 'CERT_GROUP', problems) : undefined;
  if (problems.length) throw new ConfigError(problems);
  return { uid, gid };
}

function lookup(name: string, kind: 'user' | 'group', setting: string, problems: string[]): number | undefined {
  if (/^\d+$/.test(name)) return Number(name);
  const entry = byName(kind, name);
  if (!entry) {
    problems.push(`${setting}: there is no ${kind} "${name}" on this machine (or give its numeric id)`);
    return undefined;
  }
  return entry.id;
}

/**
 * Without CERT_OWNER, a root-run nrcert gives the files to the owner of CERT_DIR, or, when
 * CERT_DIR does not exist yet, of the folder it will be created in (e.g. the pi user whose
 * Node-RED reads ~/.node-red/certs), so the key stays readable by Node-RED and nobody else.
 * Run as any other user, files belong to that user, as usual.
 */
export async function defaultOwnership(certDir: string, given: { uid?: number; gid?: number }): Promise<{ uid?: number; gid?: number }> {
  if (given.uid !== undefined || !runningAsRoot()) return given;
  let owner: number | undefined;
  try {
    owner = ownerOf(certDir).uid;
  } catch {
    owner = undefined;
  }
  return owner ? { ...given, uid: owner } : given;
}

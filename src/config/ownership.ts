import { readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { ConfigError } from '../errors';

/** Resolves CERT_OWNER / CERT_GROUP (a name or a number) to numeric ids, naming the setting on failure. */
export function resolveOwnership(owner?: string, group?: string): { uid?: number; gid?: number } {
  const problems: string[] = [];
  const uid = owner ? lookup(owner, '/etc/passwd', 'CERT_OWNER', 'user', problems) : undefined;
  const gid = group ? lookup(group, '/etc/group', 'CERT_GROUP', 'group', problems) : undefined;
  if (problems.length) throw new ConfigError(problems);
  return { uid, gid };
}

function lookup(name: string, file: string, setting: string, kind: string, problems: string[]): number | undefined {
  if (/^\d+$/.test(name)) return Number(name);
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    /* an unreadable database is reported as an unknown name below */
  }
  const line = text.split('\n').find((l) => l.split(':')[0] === name);
  if (!line) {
    problems.push(`${setting}: there is no ${kind} "${name}" on this machine (or give its numeric id)`);
    return undefined;
  }
  return Number(line.split(':')[2]);
}

/**
 * Without CERT_OWNER, a root-run nrcert gives the files to the owner of an existing CERT_DIR
 * (e.g. the pi user whose Node-RED reads ~/.node-red/certs), so the key stays readable by
 * Node-RED and nobody else. Run as any other user, files belong to that user, as usual.
 */
export async function defaultOwnership(certDir: string, given: { uid?: number; gid?: number }): Promise<{ uid?: number; gid?: number }> {
  if (given.uid !== undefined || process.getuid?.() !== 0) return given;
  const owner = await stat(certDir).then((s) => s.uid).catch(() => undefined);
  return owner ? { ...given, uid: owner } : given;
}

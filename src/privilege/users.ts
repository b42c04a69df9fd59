/** The local user and group databases (/etc/passwd, /etc/group), read in one place. */
import { readFileSync } from 'node:fs';

/** One line of /etc/passwd or /etc/group: its name, id and (passwd only) primary group. */
export interface DbEntry {
  name: string;
  id: number;
  gid?: number;
}

/** The entries of /etc/passwd ('user') or /etc/group ('group'); empty when unreadable. */
export function entries(kind: 'user' | 'group'): DbEntry[] {
  let text = '';
  try {
    text = readFileSync(kind === 'user' ? '/etc/passwd' : '/etc/group', 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .map((line) => line.split(':'))
    .filter((f) => f.length >= 3 && f[0] && /^\d+$/.test(f[2]))
    .map((f) => ({ name: f[0], id: Number(f[2]), gid: kind === 'user' && /^\d+$/.test(f[3] ?? '') ? Number(f[3]) : undefined }));
}

/** The home directory of `uid` in /etc/passwd, or undefined. */
export function homeOf(uid: number): string | undefined {
  try {
    const line = readFileSync('/etc/passwd', 'utf8').split('\n').map((l) => l.split(':')).find((f) => f[2] === String(uid));
    return line?.[5] || undefined;
  } catch {
    return undefined;
  }
}

/** The entry named `name`, or undefined. */
export function byName(kind: 'user' | 'group', name: string): DbEntry | undefined {
  return entries(kind).find((e) => e.name === name);
}

/** The entry with id `id`, or undefined. */
export function byId(kind: 'user' | 'group', id: number): DbEntry | undefined {
  return entries(kind).find((e) => e.id === id);
}

/** "pi (uid 1000)", or "uid 4242" for an id without a name. */
export function describeUser(uid: number): string {
  const entry = byId('user', uid);
  return entry ? `${entry.name} (uid ${uid})` : `uid ${uid}`;
}

/** The groups `uid` is in: its primary group and every group of /etc/group listing its name. */
export function groupsOf(uid: number, primary: number): number[] {
  const name = byId('user', uid)?.name;
  const groups = new Set([primary]);
  if (!name) return [...groups];
  let text = '';
  try {
    text = readFileSync('/etc/group', 'utf8');
  } catch {
    return [...groups];
  }
  for (const fields of text.split('\n').map((l) => l.split(':'))) {
    if (/^\d+$/.test(fields[2] ?? '') && (fields[3] ?? '').split(',').includes(name)) groups.add(Number(fields[2]));
  }
  return [...groups];
}

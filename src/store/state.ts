/**
 * Small files in STATE_DIR (JSON state, status): read with a fallback, written atomically. Run as
 * root, both happen as the owner of the folder they sit in (privilege/as-owner.ts), so a state
 * file that its owner replaced by a link is read and written only as far as that owner could,
 * and every file written belongs to them: a service running as that user can read it next time.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { InstallError } from '../errors';
import { asOwnerOf } from '../privilege/as-owner';
import { readRegularFileSync, writeFileAtomicSync } from './atomic';

/** Creates STATE_DIR (0700) when missing, as the owner of the folder it is created in when root. */
export function ensureStateDir(stateDir: string): void {
  asOwnerOf(stateDir, () => mkdirSync(stateDir, { recursive: true, mode: 0o700 }));
}

/** The parsed JSON at `path`, or `fallback` when the file does not exist. */
export async function readState<T>(path: string, fallback: T): Promise<T> {
  let text: string | null;
  try {
    text = asOwnerOf(dirname(path), () => readRegularFileSync(path));
  } catch (err) {
    throw new InstallError(`cannot read state file ${path}; check its permissions (it must be a regular file)`, { cause: err });
  }
  if (text === null) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new InstallError(`state file ${path} is not valid JSON; fix or delete it`, { cause: err });
  }
}

/** Writes `value` as JSON to `path` (mode 0600) so readers see the old or the new file whole. */
export async function writeState(path: string, value: unknown): Promise<void> {
  await writeStateText(path, `${JSON.stringify(value, null, 2)}\n`, 0o600);
}

/**
 * Replaces the file at `path` with `text` (mode `mode`) atomically, creating its folder (0700)
 * when missing, as the owner of that folder when root. For files nrcert alone writes.
 */
export async function writeStateText(path: string, text: string, mode: number): Promise<void> {
  try {
    replaceAsFolderOwner(path, text, mode, { makeDir: true });
  } catch (err) {
    throw new InstallError(`cannot write state file ${path}`, { cause: err });
  }
}

/**
 * The step under writeStateText, throwing the file system's own error: the file at `path` is
 * replaced atomically as the owner of its folder when root (see privilege/as-owner.ts), so it
 * belongs to that owner and a link there is replaced, never written through.
 */
export function replaceAsFolderOwner(path: string, text: string, mode: number, opts: { makeDir?: boolean } = {}): void {
  asOwnerOf(dirname(path), () => {
    if (opts.makeDir) mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileAtomicSync(path, text, mode);
  });
}

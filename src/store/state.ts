/** Small JSON state files (last renewal, failures): read with a fallback, written atomically. */
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { InstallError } from '../errors';
import { writeFileAtomic } from './atomic';

/** The parsed JSON at `path`, or `fallback` when the file does not exist. */
export async function readState<T>(path: string, fallback: T): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return fallback;
    throw new InstallError(`cannot read state file ${path}; check its permissions`, { cause: err });
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new InstallError(`state file ${path} is not valid JSON; fix or delete it`, { cause: err });
  }
}

/** Writes `value` as JSON to `path` (mode 0600) so readers see the old or the new file whole. */
export async function writeState(path: string, value: unknown): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`, 0o600);
  } catch (err) {
    throw new InstallError(`cannot write state file ${path}`, { cause: err });
  }
}

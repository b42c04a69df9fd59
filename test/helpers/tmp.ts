/** Temporary directories for tests, removed again in afterAll. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Creates a fresh directory under the OS temp dir, named `nrcert-<prefix>-XXXXXX`. */
export async function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `nrcert-${prefix}-`));
}

/** Removes a directory made by makeTempDir, with everything in it; a missing one is fine. */
export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

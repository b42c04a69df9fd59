import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InstallError } from '../../../src/errors';
import { readState, writeState } from '../../../src/store/state';
import { makeTempDir, removeTempDir } from './pki';

let tmp: string;
beforeEach(() => {
  tmp = makeTempDir();
});
afterEach(() => removeTempDir(tmp));

describe('state files', () => {
  it('returns the fallback when the file does not exist', async () => {
    expect(await readState(join(tmp, 'state.json'), { runs: 0 })).toEqual({ runs: 0 });
  });

  it('writes JSON with mode 0600, creating the folder, and reads it back', async () => {
    const path = join(tmp, 'deep', 'state.json');
    await writeState(path, { runs: 1, last: '2026-11-23T07:15:00.000Z' });
    await writeState(path, { runs: 2 });
    expect(await readState(path, { runs: 0 })).toEqual({ runs: 2 });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ runs: 2 });
    expect(readdirSync(join(tmp, 'deep'))).toEqual(['state.json']);
  });

  it('throws InstallError naming the file when it is not JSON', async () => {
    const path = join(tmp, 'state.json');
    writeFileSync(path, '{ half');
    await expect(readState(path, {})).rejects.toThrow(InstallError);
    await expect(readState(path, {})).rejects.toThrow(`state file ${path} is not valid JSON; fix or delete it`);
  });
});

import { mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  fsyncDir, isTempName, symlinkAtomic, tempNameFor, writeFileAtomic, writeFileSynced,
} from '../../../src/store/atomic';
import { makeTempDir, removeTempDir } from './pki';

let tmp: string;
let oldUmask: number;
beforeEach(() => {
  tmp = makeTempDir();
  oldUmask = process.umask(0o077);
});
afterEach(() => {
  process.umask(oldUmask);
  removeTempDir(tmp);
});

const modeOf = (path: string) => statSync(path).mode & 0o777;

describe('writeFileAtomic', () => {
  it('creates a file with exactly the given mode, whatever the umask', async () => {
    const path = join(tmp, 'a.json');
    await writeFileAtomic(path, 'one', 0o644);
    expect(readFileSync(path, 'utf8')).toBe('one');
    expect(modeOf(path)).toBe(0o644);
  });

  it('replaces an existing file and its mode, leaving no temporary file', async () => {
    const path = join(tmp, 'a.json');
    writeFileSync(path, 'old content', { mode: 0o666 });
    await writeFileAtomic(path, 'new', 0o600);
    expect(readFileSync(path, 'utf8')).toBe('new');
    expect(modeOf(path)).toBe(0o600);
    expect(readdirSync(tmp)).toEqual(['a.json']);
  });

  it('fails without leaving a temporary file when the name is a directory', async () => {
    mkdirSync(join(tmp, 'dir'));
    await expect(writeFileAtomic(join(tmp, 'dir'), 'x', 0o600)).rejects.toThrow();
    expect(readdirSync(tmp)).toEqual(['dir']);
  });
});

describe('writeFileSynced', () => {
  it('refuses to overwrite an existing file', async () => {
    writeFileSync(join(tmp, 'f'), 'keep');
    await expect(writeFileSynced(join(tmp, 'f'), 'x', 0o600)).rejects.toMatchObject({ code: 'EEXIST' });
    expect(readFileSync(join(tmp, 'f'), 'utf8')).toBe('keep');
  });
});

describe('symlinkAtomic', () => {
  it('creates a relative link, then replaces a link or a plain file in one step', async () => {
    const link = join(tmp, 'current');
    await symlinkAtomic('target-a', link);
    expect(readlinkSync(link)).toBe('target-a');
    await symlinkAtomic('target-b', link);
    expect(readlinkSync(link)).toBe('target-b');
    writeFileSync(join(tmp, 'plain'), 'x');
    await symlinkAtomic('target-c', join(tmp, 'plain'));
    expect(readlinkSync(join(tmp, 'plain'))).toBe('target-c');
    expect(readdirSync(tmp).sort()).toEqual(['current', 'plain']);
  });

  it('replaces a link to a directory, not the directory it points at', async () => {
    mkdirSync(join(tmp, 'one'));
    writeFileSync(join(tmp, 'one', 'f'), '1');
    symlinkSync('one', join(tmp, 'current'));
    await symlinkAtomic('two', join(tmp, 'current'));
    expect(readlinkSync(join(tmp, 'current'))).toBe('two');
    expect(readFileSync(join(tmp, 'one', 'f'), 'utf8')).toBe('1');
  });
});

describe('helpers', () => {
  it('fsyncDir flushes an existing directory and fails for a missing one', async () => {
    await expect(fsyncDir(tmp)).resolves.toBeUndefined();
    await expect(fsyncDir(join(tmp, 'nope'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('tempNameFor makes hidden names in the same directory that isTempName recognises', () => {
    const temp = tempNameFor(join(tmp, 'privkey.pem'));
    expect(temp.startsWith(join(tmp, '.privkey.pem.'))).toBe(true);
    expect(isTempName(temp.slice(tmp.length + 1))).toBe(true);
    expect(isTempName('privkey.pem')).toBe(false);
  });
});

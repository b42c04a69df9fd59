import { mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InstallError } from '../../../src/errors';
import { archiveLineage } from '../../../src/store/archive';
import { CERT_FILES, type CertificateSet } from '../../../src/store/types';
import { makeTempDir, removeTempDir } from './pki';

let tmp: string;
beforeEach(() => {
  tmp = makeTempDir();
});
afterEach(() => removeTempDir(tmp));

const modeOf = (path: string) => statSync(path).mode & 0o777;
const setNo = (n: number): CertificateSet => ({
  privkey: `key ${n}\n`,
  cert: `cert ${n}\n`,
  chain: `chain ${n}\n`,
  fullchain: `cert ${n}\nchain ${n}\n`,
});
const idNo = (n: number) => `2026112${n}T071500Z-abc${n}`;

describe('archiveLineage', () => {
  it('copies the four files into STATE_DIR/archive/<id>/ with private modes', async () => {
    const stateDir = join(tmp, 'state');
    const dir = await archiveLineage(stateDir, idNo(1), setNo(1));
    expect(dir).toBe(join(stateDir, 'archive', idNo(1)));
    expect(modeOf(join(stateDir, 'archive'))).toBe(0o700);
    expect(modeOf(dir)).toBe(0o700);
    expect(modeOf(join(dir, 'privkey.pem'))).toBe(0o600);
    expect(readdirSync(dir).sort()).toEqual([...CERT_FILES].sort());
    expect(readFileSync(join(dir, 'privkey.pem'), 'utf8')).toBe('key 1\n');
    expect(readFileSync(join(dir, 'fullchain.pem'), 'utf8')).toBe('cert 1\nchain 1\n');
  });

  it('keeps the five newest lineages and removes leftovers of an interrupted copy', async () => {
    mkdirSync(join(tmp, 'archive', `${idNo(9)}.tmp`), { recursive: true });
    for (let n = 1; n <= 7; n++) await archiveLineage(tmp, idNo(n), setNo(n));
    expect(readdirSync(join(tmp, 'archive')).sort()).toEqual([3, 4, 5, 6, 7].map(idNo));
  });

  it('replaces an earlier copy of the same lineage', async () => {
    await archiveLineage(tmp, idNo(1), setNo(1));
    await archiveLineage(tmp, idNo(1), setNo(2));
    expect(readFileSync(join(tmp, 'archive', idNo(1), 'cert.pem'), 'utf8')).toBe('cert 2\n');
    expect(readdirSync(join(tmp, 'archive'))).toEqual([idNo(1)]);
  });

  it('refuses an id that is not a plain folder name', async () => {
    await expect(archiveLineage(tmp, '../escape', setNo(1))).rejects.toThrow(InstallError);
    expect(readdirSync(tmp)).toEqual([]);
  });
});

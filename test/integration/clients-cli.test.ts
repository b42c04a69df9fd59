/**
 * `nrcert clients` as the built CLI: the CA is made once and never overwritten, the .p12 opens
 * with real openssl using the printed password and uses the encryption phones import (legacy)
 * or AES (modern), and every bad input is one clear message with its own exit code and nothing
 * half-written.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, type CliResult } from '../helpers/cli';
import { makeTempDir, removeTempDir } from '../helpers/tmp';

let dir: string;
beforeAll(async () => {
  dir = await makeTempDir('clients-cli');
});
afterAll(() => removeTempDir(dir));

function envFor(name: string): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: join(dir, name), STATE_DIR: join(dir, name, 'state') };
}
function nrcert(args: string[], env: Record<string, string>): Promise<CliResult> {
  return runCli(args, env, dir);
}
/** `openssl pkcs12 -info` on `file` with `password` (on stdin): its exit code and what it printed. */
function p12Info(file: string, password: string): { status: number | null; text: string } {
  const r = spawnSync('openssl', ['pkcs12', '-info', '-in', file, '-passin', 'stdin', '-noout'], { input: `${password}\n`, encoding: 'utf8' });
  return { status: r.status, text: `${r.stdout}${r.stderr}` };
}
const printedPassword = (r: CliResult) => /stored nowhere\): (\S+)/.exec(r.stdout)?.[1] ?? '';

describe('nrcert clients init', () => {
  test('makes the CA once (key 0600); a second init leaves it as it is, exit 0', async () => {
    const env = envFor('init');
    const first = await nrcert(['clients', 'init'], env);
    expect(first.code).toBe(0);
    const caDir = join(env.STATE_DIR, 'clients');
    expect(statSync(join(caDir, 'ca.key')).mode & 0o777).toBe(0o600);
    const key = readFileSync(join(caDir, 'ca.key'), 'utf8');
    const cert = readFileSync(join(caDir, 'ca.pem'), 'utf8');
    const second = await nrcert(['clients', 'init'], env);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/already exists.*left as it is/);
    expect(readFileSync(join(caDir, 'ca.key'), 'utf8')).toBe(key);
    expect(readFileSync(join(caDir, 'ca.pem'), 'utf8')).toBe(cert);
    expect(execFileSync('openssl', ['x509', '-in', join(caDir, 'ca.pem'), '-noout', '-text'], { encoding: 'utf8' })).toMatch(/CA:TRUE/);
  });
});

describe('nrcert clients add', () => {
  let env: Record<string, string>;
  let out: string;
  beforeAll(async () => {
    env = envFor('add');
    out = join(dir, 'add', 'out');
    mkdirSync(out, { recursive: true });
    expect((await nrcert(['clients', 'init'], env)).code).toBe(0);
  });

  test('legacy (default): key and certificate bags PBE-SHA1-3DES, SHA-1 MAC; opens with the printed password only', async () => {
    const added = await nrcert(['clients', 'add', 'phone', '--out', out], env);
    expect(added.code).toBe(0);
    const password = printedPassword(added);
    expect(password).toMatch(/^[a-z2-9]{5}(-[a-z2-9]{5}){3}$/);
    const info = p12Info(join(out, 'phone.p12'), password);
    expect(info.status).toBe(0);
    expect(info.text).toMatch(/MAC: sha1\b/);
    expect(info.text).toMatch(/PKCS7 Encrypted data: pbeWithSHA1And3-KeyTripleDES-CBC/);
    expect(info.text).toMatch(/Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC/);
    expect(info.text).not.toMatch(/RC2|PBES2/);
    expect(p12Info(join(out, 'phone.p12'), 'not-the-password').status).not.toBe(0);
    expect(statSync(join(out, 'phone.p12')).mode & 0o777).toBe(0o600);
    const pem = readFileSync(join(out, 'phone.pem'), 'utf8');
    const text = execFileSync('openssl', ['x509', '-noout', '-subject', '-ext', 'extendedKeyUsage'], { input: pem, encoding: 'utf8' });
    expect(text).toMatch(/CN ?= ?phone/);
    expect(text).toMatch(/TLS Web Client Authentication/);
    // The password is shown once: nowhere in STATE_DIR.
    for (const name of readdirSync(join(env.STATE_DIR, 'clients'))) {
      expect(readFileSync(join(env.STATE_DIR, 'clients', name), 'utf8')).not.toContain(password);
    }
  });

  test('--p12 modern: AES-256 with PBKDF2; --password-file: that password, not printed; --days', async () => {
    const pwFile = join(dir, 'add', 'pw');
    writeFileSync(pwFile, 'correct horse battery\n');
    const added = await nrcert(['clients', 'add', 'laptop', '--p12', 'modern', '--password-file', pwFile, '--days', '365', '--out', out], env);
    expect(added.code).toBe(0);
    expect(added.stdout).not.toContain('correct horse');
    const info = p12Info(join(out, 'laptop.p12'), 'correct horse battery');
    expect(info.status).toBe(0);
    expect(info.text).toMatch(/PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC/);
    expect(info.text).toMatch(/Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC/);
    const list = JSON.parse((await nrcert(['clients', 'list', '--json'], env)).stdout) as { clients: Array<{ name: string; notBefore: string; notAfter: string; revoked: boolean }> };
    const laptop = list.clients.find((c) => c.name === 'laptop')!;
    expect(Math.round((Date.parse(laptop.notAfter) - Date.parse(laptop.notBefore)) / 86_400_000)).toBe(365);
    expect(laptop.revoked).toBe(false);
  });

  test('a duplicate name is exit 14, an unwritable --out exit 16, a bad name exit 2: nothing written', async () => {
    const registry = () => readFileSync(join(env.STATE_DIR, 'clients', 'clients.json'), 'utf8');
    const before = registry();
    const outFiles = readdirSync(out).sort();
    const duplicate = await nrcert(['clients', 'add', 'phone', '--out', join(dir, 'add')], env);
    expect(duplicate.code).toBe(14);
    expect(duplicate.stderr).toMatch(/"phone" is already issued; revoke it first/);
    writeFileSync(join(dir, 'add', 'a-file'), '');
    for (const bad of [join(dir, 'add', 'missing'), join(dir, 'add', 'a-file')]) {
      const r = await nrcert(['clients', 'add', 'tablet', '--out', bad], env);
      expect(r.code).toBe(16);
      expect(r.stderr).toMatch(/cannot write tablet\.p12 into .*Nothing was issued/);
      expect(r.stdout).toBe('');
    }
    for (const name of ['../evil', 'a b', 'x'.repeat(65)]) {
      const r = await nrcert(['clients', 'add', name, '--out', out], env);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/is not allowed: use 1-64 letters/);
    }
    // A name that looks like an option is taken for one (and refused) before it could be a name.
    const dash = await nrcert(['clients', 'add', '-x', '--out', out], env);
    expect(dash.code).toBe(2);
    expect(dash.stderr).toMatch(/unknown option -x; nrcert clients takes:/);
    expect(registry()).toBe(before);
    expect(readdirSync(out).sort()).toEqual(outFiles);
    expect(readdirSync(join(dir, 'add')).filter((n) => n.includes('tablet') || n.endsWith('.tmp'))).toEqual([]);
  });
});

describe('without a CA, and revoke', () => {
  test('add, list and revoke before init: exit 13 naming clients init, nothing written', async () => {
    const env = envFor('none');
    for (const args of [['clients', 'add', 'phone', '--out', dir], ['clients', 'list'], ['clients', 'revoke', 'phone']]) {
      const r = await nrcert(args, env);
      expect(r.code).toBe(13);
      expect(r.stderr).toMatch(/no client CA .* run nrcert clients init first/);
    }
    expect(readdirSync(dir).filter((n) => n.startsWith('phone'))).toEqual([]);
  });

  test('revoke: the CRL lists the serial (openssl verify says revoked); unknown name exit 15; again: a no-op', async () => {
    const env = envFor('revoke');
    const out = join(dir, 'revoke');
    expect((await nrcert(['clients', 'init'], env)).code).toBe(0);
    expect((await nrcert(['clients', 'add', 'phone', '--out', out], env)).code).toBe(0);
    const caDir = join(env.STATE_DIR, 'clients');
    const verify = () => spawnSync('openssl', ['verify', '-crl_check', '-CAfile', join(caDir, 'ca.pem'), '-CRLfile', join(caDir, 'crl.pem'), join(out, 'phone.pem')], { encoding: 'utf8' });
    expect(verify().status).toBe(0);
    const unknown = await nrcert(['clients', 'revoke', 'nobody'], env);
    expect(unknown.code).toBe(15);
    expect(unknown.stderr).toMatch(/no client certificate named "nobody"/);
    const revoked = await nrcert(['clients', 'revoke', 'phone'], env);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toMatch(/next https refresh/);
    expect(`${verify().stdout}${verify().stderr}`).toMatch(/certificate revoked/);
    const again = await nrcert(['clients', 'revoke', 'phone'], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already revoked/);
    const list = await nrcert(['clients', 'list'], env);
    expect(list.stdout).toMatch(/phone\s+[0-9a-f]{32}\s+\S+\s+\S+\s+revoked/);
    // A revoked name can be issued again (into another folder: the old phone.p12 is never overwritten).
    const again2 = join(dir, 'revoke-again');
    mkdirSync(again2);
    expect((await nrcert(['clients', 'add', 'phone', '--out', again2], env)).code).toBe(0);
    expect((await nrcert(['clients', 'list'], env)).stdout).toMatch(/phone\s+[0-9a-f]{32}\s+\S+\s+\S+\s+valid/);
  });
});

describe('lazy loading', () => {
  test('status and settings never load node-forge or @peculiar/x509; clients add does', async () => {
    const probe = join(dir, 'loaded.js');
    writeFileSync(probe, `process.on('exit', () => { const m = Object.keys(require.cache).filter((k) => /node-forge|@peculiar[\\\\/]x509/.test(k)); require('fs').writeSync(2, '\\nLOADED ' + m.length + '\\n'); });\n`);
    const env: Record<string, string> = { ...envFor('lazy'), NODE_OPTIONS: `--require ${probe}` };
    mkdirSync(env.HOME, { recursive: true });
    const loaded = (r: CliResult) => Number(/LOADED (\d+)/.exec(r.stderr)?.[1] ?? -1);
    expect(loaded(await nrcert(['status'], env))).toBe(0);
    expect(loaded(await nrcert(['settings'], env))).toBe(0);
    expect((await nrcert(['clients', 'init'], env)).code).toBe(0);
    expect(loaded(await nrcert(['clients', 'add', 'phone', '--out', env.HOME], env))).toBeGreaterThan(0);
  });
});

describe('nrcert settings --apply --client-certs', () => {
  const DEFAULT_SETTINGS = join(__dirname, '..', '..', 'node_modules', 'node-red', 'settings.js');
  test('needs a CA (exit 13); require is kept when re-applied without the flag; off removes it; the mode change asks for one restart', async () => {
    const env: Record<string, string> = { ...envFor('settings'), CERT_DIR: join(dir, 'settings', 'certs') };
    const folder = join(dir, 'settings', 'nodered');
    mkdirSync(folder, { recursive: true });
    const path = join(folder, 'settings.js');
    writeFileSync(path, readFileSync(DEFAULT_SETTINGS));
    const apply = (...more: string[]) => nrcert(['settings', '--apply', '--settings', path, ...more], env);
    const noCa = await apply('--client-certs', 'require');
    expect(noCa.code).toBe(13);
    expect(readFileSync(path, 'utf8')).toBe(readFileSync(DEFAULT_SETTINGS, 'utf8'));
    expect((await nrcert(['clients', 'init'], env)).code).toBe(0);
    const on = await apply('--client-certs', 'require');
    expect(on.code).toBe(0);
    expect(on.stdout).toMatch(/require mode .*restart Node-RED once for this change/s);
    expect(on.stdout).toMatch(/Docker healthcheck/);
    const text = readFileSync(path, 'utf8');
    expect(text).toContain(`const ca = fs.readFileSync(${JSON.stringify(join(env.STATE_DIR, 'clients', 'ca.pem'))}, "utf8");`);
    expect(text).toContain('rejectUnauthorized: true,');
    const again = await apply();
    expect(again.stdout).toMatch(/already applied/);
    expect(readFileSync(path, 'utf8')).toBe(text);
    const off = await apply('--client-certs', 'off');
    expect(off.code).toBe(0);
    expect(off.stdout).toMatch(/Client certificates: off/);
    const plain = await nrcert(['settings'], env);
    const block = /( {4}\/\/ nrcert: begin[\s\S]*\/\/ nrcert: end\n)/.exec(readFileSync(path, 'utf8'))![1];
    expect(block).toBe(plain.stdout);
    expect(block).not.toMatch(/requestCert|crl/);
    expect((await apply('--client-certs', 'sometimes')).code).toBe(2);
  });
});

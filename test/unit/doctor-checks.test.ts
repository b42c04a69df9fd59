/**
 * nrcert doctor's file checks on temp dirs with real openssl certificates: configuration, key
 * permissions, the installed certificate, the service units and the last run; the report
 * formats; and that one crashing check never stops the others.
 */
import { X509Certificate } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../../src/config/config';
import { createLogger } from '../../src/log';
import { checkConfig } from '../../src/doctor/checks/config';
import { checkPermissions } from '../../src/doctor/checks/permissions';
import { checkCertificate } from '../../src/doctor/checks/certificate';
import { checkCloudflare, type TokenCheck } from '../../src/doctor/checks/cloudflare';
import { checkLastRun, checkService } from '../../src/doctor/checks/service';
import { readInstalled } from '../../src/doctor/installed';
import { runDoctor } from '../../src/doctor/doctor';
import { allPassed, formatJson, formatText } from '../../src/doctor/report';
import { FileCertStore } from '../../src/store/cert-dir';
import type { CertificateSet } from '../../src/store/types';
import type { ServiceStatus } from '../../src/service/status-file';
import { testConfig } from '../helpers/config';
import { TestPki, makeTempDir, removeTempDir } from './store/pki';

const DAY = 86_400_000;
const logger = createLogger('silent');
let pki: TestPki;
let set: CertificateSet;
let tmp: string;
let certDir: string;

beforeAll(() => {
  pki = new TestPki();
  set = pki.issueLeaf();
});
afterAll(() => pki.cleanup());
beforeEach(() => {
  tmp = makeTempDir('nrcert-doctor-');
  certDir = join(tmp, 'certs');
});
afterEach(() => removeTempDir(tmp));

/** The test's Config: CERT_DIR and STATE_DIR under this test's temp dir. */
const config = (env: Record<string, string> = {}): Config => testConfig(tmp, env);

async function install(s: CertificateSet = set): Promise<string> {
  await new FileCertStore(certDir).install(s);
  return realpathSync(join(certDir, 'privkey.pem'));
}

describe('configuration', () => {
  it('is ok with the names, and lists every problem with a fix when invalid', () => {
    expect(checkConfig(() => config()).result).toMatchObject({ id: 'config', status: 'ok', message: expect.stringContaining('example.test, *.example.test') });
    const bad = checkConfig(() => config({ DOMAINS: '', ACME_KEY_TYPE: 'dsa' }));
    expect(bad.config).toBeUndefined();
    expect(bad.result.status).toBe('fail');
    expect(bad.result.message).toMatch(/2 problems: .*DOMAINS.*ACME_KEY_TYPE/);
    expect(bad.result.fix).toMatch(/\.env/);
  });
});

describe('key permissions', () => {
  it('accepts the key as nrcert installs it (0600, owned by who writes it)', async () => {
    const key = await install();
    const r = await checkPermissions(config(), { uid: process.getuid!() });
    expect(r).toMatchObject({ status: 'ok', message: expect.stringContaining(`${key} is 0600`) });
  });

  (process.getuid?.() === 0 ? it : it.skip)('names a folder the user cannot traverse (bookworm\'s 0700 home) and the setfacl fix', async () => {
    await install();
    chmodSync(tmp, 0o700);
    chownSync(tmp, 4243, 4243);
    const groups = process.getgroups!();
    process.setgroups!([4242]);
    process.setegid!(4242);
    process.seteuid!(4242);
    let r;
    try {
      r = await checkPermissions(config(), { uid: 4242 });
    } finally {
      process.seteuid!(0);
      process.setegid!(0);
      process.setgroups!(groups);
    }
    expect(r).toMatchObject({
      status: 'fail',
      message: `the folder ${tmp} cannot be traversed by user 4242 (uid 4242), so ${certDir} cannot be reached`,
      fix: expect.stringMatching(new RegExp(`^sudo setfacl -m u:4242:x ${tmp} `)),
    });
  });

  it('fails a key readable by every user, with "chmod 600" on the real file as the fix', async () => {
    const key = await install();
    chmodSync(key, 0o644);
    const r = await checkPermissions(config(), { uid: process.getuid!() });
    expect(r.status).toBe('fail');
    expect(r.message).toContain('readable by every user on this machine (mode 0644)');
    expect(r.fix).toBe(`chmod 600 ${key}`);
  });

  it('fails a group-readable key unless CERT_GROUP names its group', async () => {
    const key = await install();
    chmodSync(key, 0o640);
    const gid = process.getgid!();
    expect(await checkPermissions(config(), { uid: process.getuid!() })).toMatchObject({ status: 'fail', fix: expect.stringMatching(/^chmod 600 .*or set CERT_GROUP=/) });
    expect((await checkPermissions(config({ CERT_GROUP: String(gid) }), { uid: process.getuid!() })).status).toBe('ok');
    const other = await checkPermissions(config({ CERT_GROUP: String(gid + 4242) }), { uid: process.getuid!() });
    expect(other).toMatchObject({ status: 'fail', message: expect.stringContaining(`not CERT_GROUP=${gid + 4242}`) });
  });

  it('fails a key not owned by CERT_OWNER, and warns when someone else runs the check', async () => {
    await install();
    expect(await checkPermissions(config({ CERT_OWNER: '4242' }), { uid: process.getuid!() })).toMatchObject({ status: 'fail', fix: expect.stringMatching(/^sudo chown 4242 /) });
    const r = await checkPermissions(config(), { uid: 4242 });
    expect(r).toMatchObject({ status: 'warn', fix: expect.stringContaining('run nrcert doctor as the user nrcert runs as') });
  });

  it('fails a CERT_DIR writable by others, and skips when nothing is installed', async () => {
    expect((await checkPermissions(config(), { uid: 0 })).status).toBe('skip');
    await install();
    chmodSync(certDir, 0o757);
    expect(await checkPermissions(config(), { uid: process.getuid!() })).toMatchObject({ status: 'fail', fix: `chmod o-w ${certDir}` });
  });
});

describe('installed certificate', () => {
  const check = async (now: Date, env: Record<string, string> = {}) => checkCertificate(config(env), await readInstalled(certDir), now);
  const notAfter = () => new Date(new X509Certificate(set.cert).validTo);

  it('fails with "nrcert renew" when nothing is installed', async () => {
    expect(await check(new Date())).toMatchObject({ status: 'fail', fix: 'nrcert renew' });
  });

  it('is ok for a fresh certificate covering DOMAINS, with its expiry', async () => {
    await install();
    const r = await check(new Date());
    expect(r.status).toBe('ok');
    expect(r.message).toMatch(/valid until \S+ \(8\d days left\), covers example\.test, \*\.example\.test/);
  });

  it('fails an expired certificate, fails one in its last 1/20, warns within 7 days', async () => {
    await install();
    const expired = await check(new Date(notAfter().getTime() + 60_000));
    expect(expired).toMatchObject({ status: 'fail', message: expect.stringContaining('expired at'), fix: expect.stringMatching(/^nrcert renew/) });
    expect((await check(new Date(notAfter().getTime() - 2 * DAY))).message).toContain('less than 1/20 of its lifetime');
    expect((await check(new Date(notAfter().getTime() - 2 * DAY))).status).toBe('fail');
    expect((await check(new Date(notAfter().getTime() - 6 * DAY))).status).toBe('warn');
  });

  it('fails naming the DOMAINS entries the certificate misses', async () => {
    await install();
    const r = await check(new Date(), { DOMAINS: 'example.test,*.example.test,other.test' });
    expect(r).toMatchObject({ status: 'fail', message: expect.stringContaining('does not cover other.test from DOMAINS') });
  });

  it('fails when the key does not belong to the certificate', async () => {
    await install({ ...set, privkey: pki.newKey() });
    const r = await check(new Date());
    expect(r).toMatchObject({ status: 'fail', message: expect.stringContaining('private key does not match') });
  });
});

describe('service and last run', () => {
  const unitDir = () => join(tmp, 'etc-systemd');
  const enable = (unit: string) => {
    mkdirSync(join(unitDir(), 'multi-user.target.wants'), { recursive: true });
    writeFileSync(join(unitDir(), unit), '[Unit]\n');
    symlinkSync(join(unitDir(), unit), join(unitDir(), 'multi-user.target.wants', unit));
  };

  it('is ok when one unit is enabled, warns when both or neither are, skips without systemd', async () => {
    const running = join(tmp, 'run-systemd');
    mkdirSync(running);
    expect(await checkService({ unitDirs: [unitDir()], systemdRunDir: running })).toMatchObject({ status: 'warn', fix: expect.stringContaining('systemctl enable') });
    expect((await checkService({ unitDirs: [unitDir()], systemdRunDir: join(tmp, 'absent') })).status).toBe('skip');
    enable('nrcert.service');
    expect(await checkService({ unitDirs: [unitDir()], systemdRunDir: running })).toMatchObject({ status: 'ok', message: 'nrcert.service is enabled' });
    enable('nrcert-renew.timer');
    expect((await checkService({ unitDirs: [unitDir()], systemdRunDir: running })).status).toBe('warn');
  });

  const writeStatus = (lastRun: ServiceStatus['lastRun']) => {
    mkdirSync(join(tmp, 'state'), { recursive: true });
    const status: ServiceStatus = { updatedAt: new Date().toISOString(), certificate: null, lastRun, lastSuccessAt: null, failuresTotal: 1, consecutiveFailures: 1, nextAttemptAt: '2030-01-01T00:00:00.000Z' };
    writeFileSync(join(tmp, 'state', 'status.json'), JSON.stringify(status));
  };

  it('fails when the last run failed, quoting its message', async () => {
    writeStatus({ at: new Date().toISOString(), outcome: 'failed', message: 'cloudflare: the token lacks DNS:Edit', exitCode: 5 });
    const r = await checkLastRun(config());
    expect(r.status).toBe('fail');
    expect(r.message).toContain('the last renewal failed');
    expect(r.message).toContain('cloudflare: the token lacks DNS:Edit');
  });

  it('warns when nothing ran for over 2 days or nothing ran yet, and is ok after a recent success', async () => {
    expect((await checkLastRun(config())).status).toBe('warn');
    writeStatus({ at: new Date(Date.now() - 3 * DAY).toISOString(), outcome: 'skipped', message: 'not due', exitCode: 0 });
    expect(await checkLastRun(config())).toMatchObject({ status: 'warn', message: expect.stringContaining('3 days ago') });
    writeStatus({ at: new Date(Date.now() - 3_600_000).toISOString(), outcome: 'skipped', message: 'not due', exitCode: 0 });
    expect((await checkLastRun(config())).status).toBe('ok');
  });
});

describe('Cloudflare token findings', () => {
  it('become one line each: failures with their fix, warnings as warnings, unmade findings skipped', async () => {
    const tokenCheck: TokenCheck = async () => ({
      ok: false,
      items: [
        { id: 'token-kind', ok: true, message: 'a scoped API token' },
        { id: 'token-active', ok: true, message: 'the token is active' },
        { id: 'zone-visible', ok: false, message: 'cannot see example.test', fix: 'give it Zone:Read' },
      ],
    });
    const results = await checkCloudflare(config(), logger, tokenCheck);
    expect(results.map((r) => [r.id, r.status])).toEqual([
      ['cloudflare.token-kind', 'ok'], ['cloudflare.token-active', 'ok'], ['cloudflare.zone-visible', 'fail'],
      ['cloudflare.dns-edit', 'skip'], ['cloudflare.caa', 'skip'],
    ]);
    expect(results[2].fix).toBe('give it Zone:Read');
    const caa: TokenCheck = async () => ({ ok: true, items: [{ id: 'caa', ok: true, warning: true, message: 'CAA forbids', fix: 'add a CAA record' }] });
    expect((await checkCloudflare(config(), logger, caa))[0]).toMatchObject({ id: 'cloudflare.caa', status: 'warn', fix: 'add a CAA record' });
  });
});

describe('runDoctor', () => {
  it('keeps going when a check crashes, and skips what needs a configuration when it is invalid', async () => {
    const results = await runDoctor({
      loadConfig: () => config({ DNS_RESOLVERS: '127.0.0.1:9', ACME_DIRECTORY: 'https://127.0.0.1:9/dir' }),
      settingsPath: () => join(tmp, 'no-settings.js'),
      uid: process.getuid!(),
      home: tmp,
      logger,
      tokenCheck: async () => {
        throw new Error('boom');
      },
      service: { unitDirs: [], systemdRunDir: join(tmp, 'absent') },
    });
    expect(results.find((r) => r.id === 'cloudflare')).toMatchObject({ status: 'fail', message: expect.stringContaining('boom') });
    expect(results.map((r) => r.id)).toEqual(expect.arrayContaining(['config', 'dns', 'acme', 'clock', 'permissions', 'certificate', 'settings', 'nodered', 'service', 'last-run', 'security.adminAuth']));
    expect(results.find((r) => r.id === 'certificate')?.status).toBe('fail');

    const invalid = await runDoctor({
      loadConfig: () => config({ DOMAINS: '' }),
      settingsPath: () => join(tmp, 'no-settings.js'),
      uid: 0, home: tmp, logger,
      service: { unitDirs: [], systemdRunDir: join(tmp, 'absent') },
    });
    expect(invalid[0]).toMatchObject({ id: 'config', status: 'fail' });
    for (const id of ['cloudflare.token-active', 'dns', 'clock', 'permissions', 'certificate', 'nodered', 'last-run']) {
      expect(invalid.find((r) => r.id === id)?.status).toBe('skip');
    }
  });
});

describe('report', () => {
  const results = [
    { id: 'config', status: 'ok' as const, message: 'valid' },
    { id: 'permissions', status: 'fail' as const, message: 'key is 0644', fix: 'chmod 600 /k' },
    { id: 'security.uiHost', status: 'warn' as const, message: 'all interfaces', fix: 'set uiHost' },
    { id: 'nodered', status: 'skip' as const, message: 'NODE_RED_URL is not set', fix: 'set NODE_RED_URL' },
  ];

  it('prints one marked line per check with the fix below, and a count', () => {
    const text = formatText(results);
    expect(text).toContain('✓ config           valid\n');
    expect(text).toContain('✗ permissions      key is 0644\n                   fix: chmod 600 /k\n');
    expect(text).toContain('! security.uiHost  all interfaces');
    expect(text).toContain('- nodered          NODE_RED_URL is not set\n                   hint: set NODE_RED_URL');
    expect(text).toMatch(/1 failed, 1 warning, 1 skipped, 1 ok/);
  });

  it('prints { ok, checks } as JSON; only failures make it not ok', () => {
    expect(JSON.parse(formatJson(results))).toEqual({ ok: false, checks: results });
    expect(allPassed(results.filter((r) => r.status !== 'fail'))).toBe(true);
  });
});

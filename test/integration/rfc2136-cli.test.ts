/**
 * `nrcert renew --force` with DNS_PROVIDER=rfc2136, end to end and with no fake: the built CLI
 * updates a real BIND (test/helpers/bind.ts) with its TSIG key, checks propagation there
 * (DNS_RESOLVERS), and Pebble resolves the challenges at that same BIND (`-dnsserver`). Pebble
 * sits behind the proxy that records every newOrder, so "no order" is observed, not assumed.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAriProxy, type AriProxy } from '../fakes/ari-proxy';
import { runCli, type CliResult } from '../helpers/cli';
import { bindUnavailable, startBind, type UpdateServer } from '../helpers/bind';
import { startPebble, type PebbleEnv } from '../helpers/pebble';
import { describeWhenAvailable } from '../helpers/required';
import { makeTempDir, removeTempDir } from '../helpers/tmp';

const describeBind = describeWhenAvailable('the RFC 2136 CLI tests', bindUnavailable());

const NAME = '_acme-challenge.example.test';
let bind: UpdateServer;
let pebble: PebbleEnv;
let proxy: AriProxy;
let dir: string;

function env(overrides: Record<string, string | undefined> = {}): Record<string, string> {
  const all: Record<string, string | undefined> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    NODE_EXTRA_CA_CERTS: pebble.caCertPath,
    DOMAINS: 'example.test,*.example.test',
    ACME_DIRECTORY: proxy.directoryUrl,
    DNS_PROVIDER: 'rfc2136',
    RFC2136_SERVER: bind.address,
    RFC2136_TSIG_KEY_NAME: bind.key.name,
    RFC2136_TSIG_SECRET_FILE: join(dir, 'tsig.secret'),
    DNS_RESOLVERS: bind.address,
    DNS_PROPAGATION_TIMEOUT: '10',
    CERT_DIR: join(dir, 'certs'),
    STATE_DIR: join(dir, 'state'),
    LOG_LEVEL: 'debug',
    ...overrides,
  };
  return Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined)) as Record<string, string>;
}

function expectExit(result: CliResult, code: number): void {
  if (result.code !== code) throw new Error(`exit ${result.code} (expected ${code})\n${result.stdout}\n${result.stderr}\n--- named ---\n${bind.output()}`);
}

/** named's log lines of updates at NAME since `from` (an offset into its output). */
function updates(from: number, op: 'adding' | 'deleting'): number {
  const line = new RegExp(`: updating zone 'example\\.test/IN': ${op} an RR at '?${NAME.replace(/\./g, '\\.')}'? TXT`);
  return bind.output().slice(from).split('\n').filter((l) => line.test(l)).length;
}

describeBind('nrcert renew with DNS_PROVIDER=rfc2136 against BIND and Pebble', () => {
  beforeAll(async () => {
    bind = await startBind();
    pebble = await startPebble({ dnsServer: bind.address });
    proxy = await startAriProxy(pebble);
    dir = await makeTempDir('rfc2136-cli');
    writeFileSync(join(dir, 'tsig.secret'), `${bind.key.secret}\n`, { mode: 0o600 });
  });
  afterAll(async () => {
    await proxy?.stop();
    await pebble?.stop();
    await bind?.stop();
    if (dir) await removeTempDir(dir);
  });

  test('a wildcard + apex certificate validated at BIND; both TXT values deleted one by one afterwards', async () => {
    const logFrom = bind.output().length;
    const result = await runCli(['renew', '--force'], env(), dir);
    expectExit(result, 0);
    const cert = new X509Certificate(readFileSync(join(dir, 'certs', 'cert.pem')));
    expect(cert.subjectAltName).toContain('DNS:example.test');
    expect(cert.subjectAltName).toContain('DNS:*.example.test');
    expect(proxy.newOrders).toHaveLength(1);
    // Two values added at the one name, each deleted by itself (class NONE), nothing left.
    expect(updates(logFrom, 'adding')).toBe(2);
    expect(updates(logFrom, 'deleting')).toBe(2);
    expect(await bind.txt(NAME)).toEqual([]);
    expect(JSON.parse(readFileSync(join(dir, 'state', 'txt-records.json'), 'utf8')).records).toEqual([]);
    expect(result.stdout + result.stderr).not.toContain(bind.key.secret);
  });

  test('a wrong secret fails before any order: exit 5, naming RFC2136_TSIG_SECRET, secret never shown', async () => {
    const orders = proxy.newOrders.length;
    const wrong = bind.readonlyKey.secret;
    const result = await runCli(['renew', '--force'], env({ RFC2136_TSIG_SECRET_FILE: undefined, RFC2136_TSIG_SECRET: wrong }), dir);
    expectExit(result, 5);
    expect(result.stderr).toMatch(/rfc2136: .*BADSIG.*RFC2136_TSIG_SECRET/);
    expect(proxy.newOrders).toHaveLength(orders);
    expect(result.stdout + result.stderr).not.toContain(wrong);
  });

  test('bad settings are all reported at once, each naming its setting', async () => {
    const result = await runCli(['renew'], env({
      RFC2136_SERVER: '127.0.0.1:99999', RFC2136_TSIG_ALGORITHM: 'hmac-md5', RFC2136_TSIG_KEY_NAME: undefined,
      RFC2136_TSIG_SECRET_FILE: undefined, RFC2136_TSIG_SECRET: 'not base64!',
    }), dir);
    expectExit(result, 3);
    for (const setting of ['RFC2136_SERVER', 'RFC2136_TSIG_ALGORITHM', 'RFC2136_TSIG_KEY_NAME', 'RFC2136_TSIG_SECRET']) {
      expect(result.stderr).toContain(`${setting}`);
    }
    expect(result.stderr).toMatch(/configuration has [4-9] problems/);
  });

  test('doctor proves the key and names the zone (rfc2136.key, rfc2136.zone), and fails the key line for a wrong secret', async () => {
    const checks = async (overrides: Record<string, string | undefined> = {}) => {
      const result = await runCli(['doctor', '--json'], env(overrides), dir);
      expect(result.stdout + result.stderr).not.toContain(bind.key.secret);
      const report = JSON.parse(result.stdout) as { checks: Array<{ id: string; status: string; message: string; fix?: string }> };
      return Object.fromEntries(report.checks.map((c) => [c.id, c]));
    };
    const good = await checks();
    expect(good['rfc2136.key']).toMatchObject({ status: 'ok', message: expect.stringContaining(`"${bind.key.name}"`) });
    expect(good['rfc2136.zone']).toMatchObject({ status: 'ok', message: expect.stringContaining(`${NAME} in example.test`) });
    const bad = await checks({ RFC2136_TSIG_SECRET_FILE: undefined, RFC2136_TSIG_SECRET: bind.readonlyKey.secret });
    expect(bad['rfc2136.key']).toMatchObject({ status: 'fail', message: expect.stringMatching(/BADSIG/), fix: expect.stringMatching(/^RFC2136_TSIG_SECRET is not the secret/) });
    expect(bad['rfc2136.zone']?.status).toBe('skip');
  });
});

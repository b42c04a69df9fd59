/**
 * The deployment under a real systemd 252 (Debian 12 = Raspberry Pi OS bookworm), booted with
 * systemd-nspawn: Node-RED 4 runs as `pi` from the Pi installer's nodered.service, and nrcert is
 * installed by deploy/install/install-systemd.sh — the script deploy/README.md shows — as user
 * `nrcert`. Pebble, challtestsrv and the Cloudflare fake run on the host; the container shares
 * the host's loopback. The cases run in order on one container, each setting up what it needs
 * through the install script (it is idempotent) or the settings file; each names a distinct
 * DOMAINS list so that a renewal is due exactly when the case wants one.
 * Needs root, systemd-nspawn, debootstrap and acl; skipped with one line where they are missing,
 * but under CI=true it fails instead of skipping.
 */
import { createSocket, type Socket } from 'node:dgram';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { SENTINEL_TOKEN, startStack, type Stack } from '../helpers/cli';
import { bootContainer, copyNode, systemdContainerUnavailable, type Container } from '../helpers/container';
import { stagePackage } from '../helpers/nrcert-package';
import { freePort } from '../helpers/ports';
import { defaultSettings, layOutRaspios } from '../helpers/raspios';
import { describeWhenAvailable } from '../helpers/required';
import { makeTempDir, removeTempDir } from '../helpers/tmp';
import { waitFor } from '../helpers/wait';

const REPO = join(__dirname, '..', '..');
const describeContainer = describeWhenAvailable('systemd-deploy.test.ts (a systemd container)', systemdContainerUnavailable());

const CERT_DIR = '/home/pi/.node-red/certs';
const BASE = 'example.test,*.example.test';
/** The script as the package ships it (package.json `files` has deploy/). */
const INSTALL = '/mnt/nrcert-package/deploy/install/install-systemd.sh';

let stack: Stack;
let tmp: string;
let c: Container;
let port: number;
let silent: Socket;

/** The settings a user would put in the file given to --settings, pointed at the host's stack. */
function settings(domains: string, extra: Record<string, string> = {}): string {
  const values: Record<string, string> = {
    DOMAINS: domains,
    ACME_DIRECTORY: stack.pebble.directoryUrl,
    CLOUDFLARE_API_TOKEN: SENTINEL_TOKEN,
    CLOUDFLARE_BASE_URL: stack.fake.baseURL,
    DNS_RESOLVERS: stack.pebble.dnsResolver,
    DNS_PROPAGATION_TIMEOUT: '20',
    NODE_EXTRA_CA_CERTS: '/usr/local/share/nrcert-test/pebble-tls.pem',
    NODE_RED_URL: `https://127.0.0.1:${port}`,
    NODE_RED_VERIFY_TIMEOUT: '90',
    RENEW_START_DELAY: '1',
    LOG_LEVEL: 'info',
    ...extra,
  };
  return Object.entries(values).map(([k, v]) => `${k}=${v}\n`).join('');
}

/** Runs the install script inside with these settings and options; returns its output. */
async function install(domains: string, opts = '', extra: Record<string, string> = {}): Promise<string> {
  c.writeFile('root/nrcert-settings.env', settings(domains, extra), 0o600);
  return c.sh(`${INSTALL} --settings /root/nrcert-settings.env --refresh-minutes 0.05 ${opts} /mnt/nrcert-package`, 180_000);
}

/** Replaces settings in /etc/nrcert/nrcert.env (appended last: for systemd the last one wins). */
async function override(values: Record<string, string>): Promise<void> {
  const lines = Object.entries(values).map(([k, v]) => `${k}=${v}`).join('\n');
  await c.sh(`sed -i '/^# BEGIN test overrides/,$d' /etc/nrcert/nrcert.env && printf '%s\\n' '# BEGIN test overrides' '${lines}' >> /etc/nrcert/nrcert.env`);
}

/** The leaf certificate Node-RED serves now (TLS handshake from the host, SNI example.test). */
function served(): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'example.test', rejectUnauthorized: false }, () => {
      const raw = socket.getPeerCertificate().raw;
      socket.end();
      resolve(new X509Certificate(raw));
    });
    socket.setTimeout(3000, () => socket.destroy(new Error('TLS handshake timed out')));
    socket.on('error', reject);
  });
}

/** The leaf of CERT_DIR/fullchain.pem as installed (read through the root on the host). */
function installed(): X509Certificate {
  return new X509Certificate(readFileSync(join(c.root, CERT_DIR, 'fullchain.pem')));
}

const names = (cert: X509Certificate) => (cert.subjectAltName ?? '').replace(/DNS:/g, '').split(', ').sort();
const prop = async (unit: string, p: string) => (await c.sh(`systemctl show -p ${p} --value ${unit}`)).trim();
/**
 * A point in the journal to read from: the container's clock in microseconds. (Not a cursor:
 * journalctl 252 with --after-cursor and a filter such as -p err skips the first matching entry.)
 */
const cursor = async () => (await c.sh('date +%s.%6N')).trim();
const journal = async (since: string, args: string) => c.sh(`journalctl --no-pager --since=@${since} ${args}`);
const challengeRecords = () => stack.fake.records().filter((r) => r.name.startsWith('_acme-challenge'));

/** Waits until Node-RED serves the certificate installed in CERT_DIR and it names `domains`. */
async function waitServed(domains: string, timeoutMs = 60_000): Promise<X509Certificate> {
  let cert: X509Certificate | undefined;
  await waitFor(async () => {
    cert = await served();
    return cert.fingerprint256 === installed().fingerprint256 && names(cert).join(',') === domains.split(',').sort().join(',');
  }, timeoutMs, { what: `Node-RED serving the installed certificate for ${domains}`, intervalMs: 250 });
  return cert!;
}

/** Awaits `work`; when it fails, adds what `diagnose` prints (a journal, a listing) to the error. */
async function diagnosed<T>(work: Promise<T>, diagnose: () => Promise<string>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    const details = await diagnose().catch((e: Error) => `(diagnosis failed: ${e.message})`);
    throw new Error(`${(err as Error).message}\n--- diagnosis ---\n${details}`);
  }
}

describeContainer('nrcert under a real systemd (Raspberry Pi OS layout)', () => {
  beforeAll(async () => {
    const t0 = Date.now();
    stack = await startStack();
    tmp = await makeTempDir('systemd');
    port = await freePort();
    silent = createSocket('udp4');
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()));
    const pkg = stagePackage(join(tmp, 'package'));
    c = await bootContainer(join(tmp, 'root'), [
      { host: realpathSync(join(REPO, 'node_modules')), container: '/usr/lib/node_modules', readOnly: true },
      { host: pkg, container: '/mnt/nrcert-package', readOnly: true },
    ]);
    copyNode(c.root);
    c.writeFile('usr/local/share/nrcert-test/pebble-tls.pem', readFileSync(stack.pebble.caCertPath));
    await layOutRaspios(c, port);
    console.log(`systemd container ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }, 15 * 60_000);

  afterAll(async () => {
    await c?.stop();
    silent?.close();
    await stack?.stop();
    if (tmp) await removeTempDir(tmp);
  }, 120_000);

  test('the container is Raspberry Pi OS bookworm-like: systemd 252, pi uid 1000 with a 0700 home, Node-RED 4 running', async () => {
    expect(await c.sh('systemctl --version | head -1')).toMatch(/^systemd 252 /);
    expect((await c.sh('id -u pi; stat -c %a /home/pi')).split('\n')).toEqual(['1000', '700', '']);
    expect(await prop('nodered', 'ActiveState')).toBe('active');
  });

  test('nrcert.service, RESTART_COMMAND=none: the first issuance is picked up by Node-RED without a restart; NODE_RED_URL confirms it', async () => {
    const since = await cursor();
    const out = await install(BASE);
    expect(out).toMatch(/restarting Node-RED once/);
    expect((await c.sh('stat -c %a /etc/nrcert/nrcert.env')).trim()).toBe('600');
    const pid = await prop('nodered', 'MainPID');
    const cert = await waitServed(BASE);
    expect(cert.issuer).toMatch(/Pebble/);
    await waitFor(async () => /Node-RED serves the installed certificate/.test(await journal(since, '-u nrcert -o cat')), 30_000, { what: 'the served-certificate check in the journal' });
    expect(await prop('nodered', 'MainPID')).toBe(pid);
    expect(await prop('nodered', 'NRestarts')).toBe('0');
    expect(await journal(since, '-u nrcert -p err -o cat')).toBe('');
    expect(await prop('nrcert', 'ActiveState')).toBe('active');
  }, 240_000);

  test('Node-RED (pi) can read privkey.pem, another user (eve) cannot', async () => {
    expect((await c.sh(`stat -L -c '%U:%G %a' ${CERT_DIR}/privkey.pem`)).trim()).toBe('nrcert:pi 640');
    expect(await c.sh(`runuser -u pi -- cat ${CERT_DIR}/privkey.pem`)).toMatch(/BEGIN PRIVATE KEY/);
    const eve = await c.exec(['runuser', '-u', 'eve', '--', 'cat', `${CERT_DIR}/privkey.pem`]);
    expect(eve.code).not.toBe(0);
    expect(eve.stderr).toMatch(/Permission denied/);
  });

  test('systemd-analyze security rates both units 2.0 or better', async () => {
    for (const unit of ['nrcert.service', 'nrcert-renew.service']) {
      const r = await c.exec(['systemd-analyze', 'security', '--no-pager', unit]);
      const overall = r.stdout.match(/Overall exposure level for \S+: (\d+\.\d+).*/);
      console.log(`systemd-analyze security: ${overall?.[0]}`);
      const score = Number(overall?.[1]);
      expect(score).toBeLessThanOrEqual(2.0);
    }
  });

  test('journalctl -u nrcert -p err shows a failed renewal, at priority err', async () => {
    const since = await cursor();
    await override({ DOMAINS: 'nozone.test,*.nozone.test' });
    await c.sh('systemctl restart nrcert');
    let errors = '';
    // The renewal's own line, then the service's: it logs the failed check and goes on.
    const both = (text: string) => /renewal failed/.test(text) && /renewal check failed; the service goes on/.test(text);
    await diagnosed(waitFor(async () => both((errors = await journal(since, '-u nrcert -p err -o cat'))), 60_000, { what: 'a failed renewal in journalctl -p err', intervalMs: 500 }),
      () => journal(since, '-u nrcert -o short-precise'));
    console.log(`journalctl -u nrcert -p err:\n${errors}`);
    expect(errors).toMatch(/nozone\.test/);
    expect(errors).not.toContain(SENTINEL_TOKEN);
    const json = (await journal(since, '-u nrcert -p err -o json')).trim().split('\n').map((l) => JSON.parse(l) as { PRIORITY: string; SYSLOG_IDENTIFIER: string });
    expect(json.every((e) => e.PRIORITY === '3' && e.SYSLOG_IDENTIFIER === 'nrcert')).toBe(true);
    // The service goes on after a failed renewal; it is not a failed unit.
    expect(await prop('nrcert', 'ActiveState')).toBe('active');
    await override({});
  }, 120_000);

  test('systemctl stop nrcert mid-renewal leaves no TXT record, no lock and no failed unit', async () => {
    const since = await cursor();
    const silentResolver = `127.0.0.1:${silent.address().port}`;
    await override({ DOMAINS: `${BASE},stop.example.test`, DNS_RESOLVERS: silentResolver, DNS_PROPAGATION_TIMEOUT: '120' });
    await c.sh('systemctl restart nrcert');
    await waitFor(() => challengeRecords().length >= 2, 60_000, { what: 'TXT records at the Cloudflare fake', intervalMs: 200 });
    expect(existsSync(join(c.root, 'var/lib/nrcert/lock'))).toBe(true);
    const t0 = Date.now();
    await c.sh('systemctl stop nrcert', 150_000);
    console.log(`systemctl stop during a renewal took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    expect(challengeRecords()).toEqual([]);
    expect(existsSync(join(c.root, 'var/lib/nrcert/lock'))).toBe(false);
    const failed = await c.exec(['systemctl', 'is-failed', 'nrcert']);
    expect(failed.stdout.trim()).toBe('inactive');
    expect(await prop('nrcert', 'Result')).toBe('success');
    expect(await journal(since, '-u nrcert -p err -o cat')).toBe('');
    await override({});
  }, 240_000);

  test('polkit rule + RESTART_COMMAND="systemctl restart nodered": the renewal restarts Node-RED through polkit, hardened unit and all', async () => {
    // Without the rule, the nrcert user may not restart Node-RED.
    const denied = await c.exec(['runuser', '-u', 'nrcert', '--', 'systemctl', 'restart', 'nodered']);
    expect(denied.code).not.toBe(0);
    const domains = `${BASE},www.example.test`;
    const since = await cursor();
    await install(domains, '--restart polkit');
    expect(existsSync(join(c.root, 'etc/polkit-1/rules.d/50-nrcert-restart-nodered.rules'))).toBe(true);
    // polkitd reloads rules.d on every change; a half-written rule would be dropped.
    expect(await journal(since, '-u polkit -o cat')).not.toMatch(/Error loading script/);
    const pidAfterInstall = await prop('nodered', 'MainPID');
    const story = () => journal(since, '-u nrcert -u nodered -u polkit -o short-precise');
    await diagnosed(waitServed(domains, 90_000), story);
    await diagnosed(waitFor(async () => /Node-RED serves the installed certificate/.test(await journal(since, '-u nrcert -o cat')), 90_000, { what: 'the served-certificate check' }), story);
    expect(await prop('nodered', 'MainPID')).not.toBe(pidAfterInstall);
    expect(await c.sh(`grep -c '^RESTART_COMMAND=systemctl restart nodered$' /etc/nrcert/nrcert.env`)).toBe('1\n');
    expect(await journal(since, '-u nrcert -p err -o cat')).toBe('');
  }, 240_000);

  test('a reboot brings Node-RED and nrcert back: no early renewal, the same certificate served', async () => {
    const before = await served();
    const target = (await c.sh(`readlink ${CERT_DIR}/current`)).trim();
    const t0 = Date.now();
    await c.reboot();
    console.log(`container rebooted in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await waitFor(async () => (await served()).fingerprint256 === before.fingerprint256, 60_000, { what: 'Node-RED serving after the reboot', intervalMs: 250 });
    await diagnosed(waitFor(async () => /not due for renewal/.test(await c.sh('journalctl -b -u nrcert -o cat --no-pager')), 60_000, { what: 'nrcert\'s first check after boot', intervalMs: 500 }),
      () => c.sh('journalctl -b -u nrcert -u nodered -o short-precise --no-pager'));
    expect((await c.sh(`readlink ${CERT_DIR}/current`)).trim()).toBe(target);
    expect(await prop('nrcert', 'ActiveState')).toBe('active');
    expect(await c.sh('systemctl --failed --no-legend --plain')).toBe('');
  }, 240_000);

  test('the timer variant: nrcert-renew.service renews when due, exits 0 when not, the timer is scheduled', async () => {
    const domains = `${BASE},timer.example.test`;
    const since0 = await cursor();
    await install(domains, '--timer');
    expect(await prop('nrcert', 'UnitFileState')).toBe('disabled');
    await diagnosed(waitServed(domains, 90_000), () => journal(since0, '-u nrcert-renew -u nodered -o short-precise'));
    await waitFor(async () => (await prop('nrcert-renew.service', 'ActiveState')) === 'inactive', 60_000, { what: 'nrcert-renew.service to finish' });
    expect(await prop('nrcert-renew.service', 'Result')).toBe('success');
    const fingerprint = installed().fingerprint256;
    const since = await cursor();
    await c.sh('systemctl start nrcert-renew.service', 120_000);
    expect(await journal(since, '-u nrcert-renew -o cat')).toMatch(/not due for renewal/);
    expect(installed().fingerprint256).toBe(fingerprint);
    expect(await prop('nrcert-renew.service', 'ExecMainStatus')).toBe('0');
    expect(await c.sh('systemctl list-timers --no-legend nrcert-renew.timer')).toMatch(/nrcert-renew\.timer/);
  }, 240_000);

  test('systemctl stop nrcert-renew.service mid-renewal: exit 130 counts as success, no TXT record, no lock', async () => {
    const silentResolver = `127.0.0.1:${silent.address().port}`;
    await override({ DOMAINS: `${BASE},stop.example.test`, DNS_RESOLVERS: silentResolver, DNS_PROPAGATION_TIMEOUT: '120' });
    await c.sh('systemctl start --no-block nrcert-renew.service');
    await waitFor(() => challengeRecords().length >= 2, 60_000, { what: 'TXT records at the Cloudflare fake', intervalMs: 200 });
    await c.sh('systemctl stop nrcert-renew.service', 150_000);
    expect(challengeRecords()).toEqual([]);
    expect(existsSync(join(c.root, 'var/lib/nrcert/lock'))).toBe(false);
    expect(await prop('nrcert-renew.service', 'ExecMainStatus')).toBe('130');
    expect(await prop('nrcert-renew.service', 'Result')).toBe('success');
    expect((await c.exec(['systemctl', 'is-failed', 'nrcert-renew.service'])).stdout.trim()).toBe('inactive');
    await override({});
  }, 240_000);

  test('the timer variant and the editor: a request Node-RED\'s user drops starts nrcert-editor.service through nrcert-editor.path', async () => {
    const domains = `${BASE},editor.example.test`;
    const since0 = await cursor();
    await install(domains, '--timer');
    await diagnosed(waitServed(domains, 90_000), () => journal(since0, '-u nrcert-renew -u nodered -o short-precise'));
    await waitFor(async () => (await prop('nrcert-renew.service', 'ActiveState')) === 'inactive', 60_000, { what: 'nrcert-renew.service to finish' });
    expect(await prop('nrcert-editor.path', 'ActiveState')).toBe('active');
    // The editor folder, made by root with the service's settings: it belongs to CERT_DIR's owner (nrcert), group pi.
    await c.sh('NRCERT_ENV_FILE=/etc/nrcert/nrcert.env nrcert editor init', 120_000);
    const editor = `${CERT_DIR}/editor`;
    expect((await c.sh(`stat -c '%U:%G %a' ${editor} ${editor}/requests ${editor}/status.json`)).trim().split('\n')).toEqual(['nrcert:pi 750', 'nrcert:pi 3770', 'nrcert:pi 640']);
    const before = installed().fingerprint256;
    const since = await cursor();
    // As Node-RED would: pi writes <id>.json.tmp (0660) and renames it.
    await c.sh(`runuser -u pi -- sh -c 'umask 007; printf %s "{\\"version\\":1,\\"id\\":\\"systemd-renew-0001\\",\\"action\\":\\"renew\\"}" > ${editor}/requests/systemd-renew-0001.json.tmp && mv ${editor}/requests/systemd-renew-0001.json.tmp ${editor}/requests/systemd-renew-0001.json'`);
    const job = () => (JSON.parse(readFileSync(join(c.root, editor, 'jobs.json'), 'utf8')) as { jobs: Array<{ id: string; state: string }> }).jobs.find((j) => j.id === 'systemd-renew-0001');
    await diagnosed(waitFor(() => job()?.state === 'succeeded', 120_000, { what: 'the editor job succeeded', intervalMs: 500 }), () => journal(since, '-u nrcert-editor -u nrcert-editor.path -o short-precise'));
    expect(installed().fingerprint256).not.toBe(before);
    await waitFor(async () => (await prop('nrcert-editor.service', 'ActiveState')) === 'inactive', 60_000, { what: 'nrcert-editor.service to finish' });
    expect(await prop('nrcert-editor.service', 'Result')).toBe('success');
    expect(await c.sh(`ls -A ${editor}/requests`)).toBe('');
    expect(await journal(since, '-u nrcert-editor -o cat')).toMatch(/editor request systemd-renew-0001\.json \(renew\) succeeded/);
    expect(await journal(since, '-u nrcert-editor -o cat')).not.toContain(SENTINEL_TOKEN);
  }, 300_000);

  test('sudo nrcert init --non-interactive leaves Node-RED running and serving the certificate', async () => {
    // Back to the state before nrcert: its units off, Node-RED's own settings.js, no certificates.
    await c.sh(`for unit in nrcert-renew.timer nrcert-editor.path nrcert.service; do
        if systemctl cat $unit >/dev/null 2>&1; then systemctl disable --now $unit; fi
      done
      rm -rf ${CERT_DIR} /var/lib/nrcert/*
      # Run alone (jest -t), the install script has not put nrcert on the PATH yet.
      [ -x /usr/local/bin/nrcert ] || { cp -a /mnt/nrcert-package /opt/nrcert && ln -s /opt/nrcert/dist/cli/index.js /usr/local/bin/nrcert; }`);
    c.writeFile('home/pi/.node-red/settings.js', defaultSettings(port), 0o644, 1000, 1000);
    copyFileSync(stack.pebble.caCertPath, join(c.root, 'home/pi/pebble-tls.pem'));
    c.writeFile('home/pi/cf-token', `${SENTINEL_TOKEN}\n`, 0o600, 1000, 1000);
    await c.sh('systemctl restart nodered && install -d -o pi -g pi /home/pi/nrcert');
    const r = await c.exec(['runuser', '-u', 'pi', '--', 'bash', '-c', [
      'cd /home/pi/nrcert && sudo NODE_EXTRA_CA_CERTS=/home/pi/pebble-tls.pem nrcert init --non-interactive',
      `--domain example.test --token-file /home/pi/cf-token --node-red-dir /home/pi/.node-red --restart auto --yes`,
      `--skip-dry-run --no-service --acme-directory ${stack.pebble.directoryUrl} --dns-resolvers ${stack.pebble.dnsResolver}`,
      `--cloudflare-base-url ${stack.fake.baseURL}`,
    ].join(' ')], { timeoutMs: 180_000 });
    console.log(`sudo nrcert init: exit ${r.code}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
    expect(r.code).toBe(0);
    await diagnosed(waitServed(BASE, 60_000), () => c.sh(`journalctl -u nodered -n 30 --no-pager; ls -laR ${CERT_DIR}`));
    expect(await prop('nodered', 'ActiveState')).toBe('active');
    expect(await c.sh(`runuser -u pi -- cat ${CERT_DIR}/privkey.pem`)).toMatch(/BEGIN PRIVATE KEY/);
  }, 300_000);
});

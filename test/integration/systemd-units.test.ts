/**
 * The systemd units in deploy/systemd pass `systemd-analyze verify`: every directive is known
 * and well-formed, and the ExecStart binary exists. verify resolves ExecStart on this machine,
 * so it checks copies in which /usr/bin/node, /opt/nrcert and the users are made to exist here.
 * Needs systemd-analyze (Debian package `systemd`); without it the test is skipped, saying so.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, removeTempDir } from '../helpers/tmp';

const ROOT = join(__dirname, '..', '..');
const UNITS_DIR = join(ROOT, 'deploy', 'systemd');
const UNITS = ['nrcert.service', 'nrcert-renew.service', 'nrcert-renew.timer', 'nrcert-editor.service', 'nrcert-editor.path'];

const probe = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
const haveAnalyze = !probe.error && probe.status === 0;
if (!haveAnalyze) {
  console.warn('systemd-units.test.ts: systemd-analyze not found, skipping `systemd-analyze verify` (install the Debian package `systemd`)');
}

const unitText = (name: string) => readFileSync(join(UNITS_DIR, name), 'utf8');

/** The unit as it would be on this machine: node, the built CLI, and users that exist here. */
function localise(text: string): string {
  return text
    .replace(/\/usr\/bin\/node/g, process.execPath)
    .replace(/\/opt\/nrcert\/dist\/cli\/index\.js/g, join(ROOT, 'dist', 'cli', 'index.js'))
    .replace(/^WorkingDirectory=\/opt\/nrcert$/m, `WorkingDirectory=${ROOT}`)
    .replace(/^(User|Group|SupplementaryGroups)=.*$/gm, '$1=root');
}

/** Runs verify on the given files; returns the lines that concern them (other units are not ours). */
function verify(dir: string, files: string[]): { status: number | null; problems: string[] } {
  const result = spawnSync('systemd-analyze', ['verify', ...files.map((f) => join(dir, f))], { encoding: 'utf8', cwd: dir, timeout: 30_000 });
  const output = `${result.stdout}${result.stderr}`.split('\n').filter(Boolean);
  const problems = output.filter((line) => files.some((f) => line.includes(f)) || line.includes(dir));
  return { status: result.status, problems };
}

describe('deploy/systemd units', () => {
  it('are the five units the docs name', () => {
    expect(readdirSync(UNITS_DIR).sort()).toEqual([...UNITS].sort());
  });

  it('run `nrcert run` as a long-running service, and `nrcert renew --scheduled` from a twice-daily randomised timer', () => {
    expect(unitText('nrcert.service')).toMatch(/^Type=simple$/m);
    expect(unitText('nrcert.service')).toMatch(/^ExecStart=\/usr\/bin\/node --no-maglev \/opt\/nrcert\/dist\/cli\/index\.js run$/m);
    expect(unitText('nrcert.service')).toMatch(/^Restart=on-failure$/m);
    expect(unitText('nrcert-renew.service')).toMatch(/^Type=oneshot$/m);
    expect(unitText('nrcert-renew.service')).toMatch(/^ExecStart=\/usr\/bin\/node \/opt\/nrcert\/dist\/cli\/index\.js renew --scheduled$/m);
    const timer = unitText('nrcert-renew.timer');
    expect(timer).toMatch(/^OnCalendar=\*-\*-\* 00,12:00:00$/m);
    expect(timer).toMatch(/^RandomizedDelaySec=\S+$/m);
    expect(timer).toMatch(/^Persistent=true$/m);
  });

  it('start `nrcert editor process` when a request lands in the editor\'s spool (timer variant)', () => {
    const path = unitText('nrcert-editor.path');
    expect(path).toMatch(/^PathExistsGlob=\/home\/pi\/\.node-red\/certs\/editor\/requests\/\*\.json$/m);
    expect(path).toMatch(/^Unit=nrcert-editor\.service$/m);
    expect(path).not.toMatch(/^DirectoryNotEmpty=/m);
    expect(unitText('nrcert-editor.service')).toMatch(/^Type=oneshot$/m);
    expect(unitText('nrcert-editor.service')).toMatch(/^ExecStart=\/usr\/bin\/node \/opt\/nrcert\/dist\/cli\/index\.js editor process$/m);
  });

  it('stop the way nrcert cleans up: SIGTERM to nrcert only, a cleaned-up interrupted run counts as success', () => {
    // KillMode=mixed: SIGTERM reaches the main process only; nrcert stops its own renewal child
    // (which then removes its TXT records and the lock); SIGKILL still reaches all after TimeoutStopSec.
    for (const name of ['nrcert.service', 'nrcert-renew.service', 'nrcert-editor.service']) {
      expect(unitText(name)).toMatch(/^KillMode=mixed$/m);
      expect(unitText(name)).toMatch(/^SyslogIdentifier=nrcert$/m);
    }
    // The service itself exits 0 when stopped; `renew` exits 130 after cleaning up.
    expect(unitText('nrcert-renew.service')).toMatch(/^SuccessExitStatus=130$/m);
    expect(unitText('nrcert.service')).toMatch(/^TimeoutStopSec=120s$/m);
  });

  it('harden both services the same way', () => {
    const directives = (text: string) => text.split('\n').filter((l) => /^[A-Z]\w*=/.test(l) && !/^(Type|ExecStart|Restart|RestartSec|TimeoutStopSec|TimeoutStartSec|SuccessExitStatus|Description|WantedBy)=/.test(l));
    const service = directives(unitText('nrcert.service'));
    expect(directives(unitText('nrcert-renew.service'))).toEqual(service);
    expect(directives(unitText('nrcert-editor.service'))).toEqual(service);
    for (const required of [
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ProtectHome=read-only',
      'PrivateTmp=yes',
      'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX',
      'ProtectKernelTunables=yes',
      'ProtectControlGroups=yes',
      'LockPersonality=yes',
      'RestrictRealtime=yes',
      'StateDirectory=nrcert',
      'EnvironmentFile=/etc/nrcert/nrcert.env',
      // systemd-analyze security 3.0 -> 1.6 with these; systemd-deploy.test.ts checks it under systemd 252.
      'SystemCallFilter=@system-service',
      'SystemCallErrorNumber=EPERM',
      'ProcSubset=pid',
      'RemoveIPC=yes',
    ]) {
      expect(service).toContain(required);
    }
    expect(service.find((l) => l.startsWith('ReadWritePaths='))).toBe('ReadWritePaths=/home/pi/.node-red/certs /var/lib/nrcert');
  });

  (haveAnalyze ? describe : describe.skip)('systemd-analyze verify', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await makeTempDir('units');
      for (const name of UNITS) writeFileSync(join(dir, name), localise(unitText(name)));
    });
    afterAll(() => removeTempDir(dir));

    it('passes on all five units', () => {
      const { status, problems } = verify(dir, UNITS);
      expect(problems).toEqual([]);
      expect(status).toBe(0);
    });

    it('would catch a misspelt directive or a missing binary (so the check above can fail)', () => {
      writeFileSync(join(dir, 'typo.service'), localise(unitText('nrcert.service')).replace('NoNewPrivileges=yes', 'NoNewPrivilege=yes'));
      writeFileSync(join(dir, 'nobinary.service'), unitText('nrcert.service').replace(/\/usr\/bin\/node/g, '/nonexistent/node'));
      expect(verify(dir, ['typo.service']).problems.join('\n')).toMatch(/Unknown key 'NoNewPrivilege'/);
      const missing = verify(dir, ['nobinary.service']);
      expect(missing.problems.join('\n')).toMatch(/\/nonexistent\/node is not executable/);
      expect(missing.status).not.toBe(0);
    });
  });
});

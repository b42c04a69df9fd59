import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/errors';
import { resolveRestartCommand } from '../../src/nodered/restart';

describe('resolveRestartCommand', () => {
  let units: string;
  beforeEach(() => {
    units = mkdtempSync(join(tmpdir(), 'nrcert-units-'));
  });
  afterEach(() => rmSync(units, { recursive: true, force: true }));

  it('keeps an explicit command and gives none for none', () => {
    expect(resolveRestartCommand({ argv: ['pm2', 'restart', 'node-red'], auto: false, timeoutMs: 1 }, { uid: 1000 })).toEqual(['pm2', 'restart', 'node-red']);
    expect(resolveRestartCommand(undefined, { uid: 1000 })).toBeUndefined();
  });

  it('auto restarts the nodered unit, through sudo -n when not root', () => {
    writeFileSync(join(units, 'nodered.service'), '[Unit]\n');
    const auto = { argv: [], auto: true, timeoutMs: 1 };
    expect(resolveRestartCommand(auto, { uid: 0, unitDirs: [units] })).toEqual(['systemctl', 'restart', 'nodered']);
    const asked: string[][] = [];
    const sudoAllows = (argv: string[]) => (asked.push(argv), true);
    expect(resolveRestartCommand(auto, { uid: 1000, unitDirs: [units], noNewPrivs: () => false, sudoAllows })).toEqual(['sudo', '-n', 'systemctl', 'restart', 'nodered']);
    expect(asked).toEqual([['systemctl', 'restart', 'nodered']]);
  });

  it('auto is a configuration error before any order when sudo cannot work: no_new_privs, or sudo -n refusing', () => {
    writeFileSync(join(units, 'nodered.service'), '[Unit]\n');
    const auto = { argv: [], auto: true, timeoutMs: 1 };
    const nnp = () => resolveRestartCommand(auto, { uid: 1000, unitDirs: [units], noNewPrivs: () => true, sudoAllows: () => true });
    expect(nnp).toThrow(ConfigError);
    expect(nnp).toThrow(/RESTART_COMMAND=auto .*no_new_privs .*RESTART_COMMAND=none .*httpsRefreshInterval.*polkit/);
    const refused = () => resolveRestartCommand(auto, { uid: 1000, unitDirs: [units], noNewPrivs: () => false, sudoAllows: () => false });
    expect(refused).toThrow(/RESTART_COMMAND=auto: sudo -n refuses/);
  });

  it('reads no_new_privs of the real process: a child started with setpriv --no-new-privs sees it', () => {
    writeFileSync(join(units, 'nodered.service'), '[Unit]\n');
    const script = `const { resolveRestartCommand } = require(${JSON.stringify(join(__dirname, '../../dist/nodered/restart.js'))});
      try { resolveRestartCommand({ argv: [], auto: true, timeoutMs: 1 }, { uid: 1000, unitDirs: [${JSON.stringify(units)}], sudoAllows: () => true }); console.log('resolved'); }
      catch (e) { console.log(e.message); }`;
    const plain = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    const nnp = execFileSync('setpriv', ['--no-new-privs', process.execPath, '-e', script], { encoding: 'utf8' });
    expect(plain.trim()).toBe('resolved');
    expect(nnp).toMatch(/no_new_privs/);
  });

  it('auto without a nodered unit is a configuration error naming RESTART_COMMAND', () => {
    const run = () => resolveRestartCommand({ argv: [], auto: true, timeoutMs: 1 }, { uid: 0, unitDirs: [units] });
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(/RESTART_COMMAND=auto: no nodered\.service/);
  });
});

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
    expect(resolveRestartCommand(auto, { uid: 1000, unitDirs: [units] })).toEqual(['sudo', '-n', 'systemctl', 'restart', 'nodered']);
  });

  it('auto without a nodered unit is a configuration error naming RESTART_COMMAND', () => {
    const run = () => resolveRestartCommand({ argv: [], auto: true, timeoutMs: 1 }, { uid: 0, unitDirs: [units] });
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(/RESTART_COMMAND=auto: no nodered\.service/);
  });
});

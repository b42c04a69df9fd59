import { parseArgs } from '../../src/cli/args';
import { commandHelp, COMMAND_SPECS } from '../../src/cli/commands';
import { UsageError } from '../../src/errors';

describe('parseArgs', () => {
  it('reads the command, its flags and positionals', () => {
    expect(parseArgs(['renew', '--force', '--dry-run'])).toEqual({
      command: 'renew', flags: { force: true, 'dry-run': true }, options: {}, positionals: [],
    });
    expect(parseArgs(['help', 'renew'])).toEqual({
      command: 'help', flags: {}, options: {}, positionals: ['renew'],
    });
  });

  it('takes no command at all', () => {
    expect(parseArgs([])).toEqual({ flags: {}, options: {}, positionals: [] });
  });

  it('accepts flags before the command', () => {
    expect(parseArgs(['--force', 'renew'])).toMatchObject({ command: 'renew', flags: { force: true } });
  });

  it('reads --env-file with a separate or an inline value, keeping = in the value', () => {
    expect(parseArgs(['renew', '--env-file', '/etc/nrcert.env']).options).toEqual({ 'env-file': '/etc/nrcert.env' });
    expect(parseArgs(['--env-file=/etc/a=b.env', 'status'])).toMatchObject({ command: 'status', options: { 'env-file': '/etc/a=b.env' } });
  });

  it('maps -h, --help, -v and --version to flags, on any command', () => {
    expect(parseArgs(['-h']).flags).toEqual({ help: true });
    expect(parseArgs(['renew', '--help']).flags).toEqual({ help: true });
    expect(parseArgs(['status', '-h']).flags).toEqual({ help: true });
    expect(parseArgs(['--version']).flags).toEqual({ version: true });
    expect(parseArgs(['-v']).flags).toEqual({ version: true });
  });

  it('reads each command\'s own options', () => {
    expect(parseArgs(['rollback', '--to', 'abc123'])).toMatchObject({ command: 'rollback', options: { to: 'abc123' } });
    expect(parseArgs(['settings', '--apply', '--settings=/x/settings.js', '--refresh-minutes', '0.5'])).toMatchObject({
      flags: { apply: true }, options: { settings: '/x/settings.js', 'refresh-minutes': '0.5' },
    });
    expect(parseArgs(['init', '--non-interactive', '--no-service', '--domain', 'example.com'])).toMatchObject({
      flags: { 'non-interactive': true, 'no-service': true }, options: { domain: 'example.com' },
    });
    expect(parseArgs(['doctor', '--json', '--settings', 's.js'])).toMatchObject({ flags: { json: true }, options: { settings: 's.js' } });
  });

  it.each([
    [['renew', '--frobnicate'], 'unknown option --frobnicate; nrcert renew takes: --force, --dry-run, --scheduled, --doctor, --env-file PATH, --help'],
    [['renew', '--force=yes'], '--force takes no value'],
    [['renew', '--env-file'], '--env-file needs a value'],
    [['renew', '--env-file', '--force'], '--env-file needs a value'],
    [['status', '--force'], '--force is not an option of nrcert status (it is one of nrcert renew); nrcert status takes: --json, --env-file PATH, --help'],
    [['status', '--no-service'], '--no-service is not an option of nrcert status (it is one of nrcert init)'],
    [['run', '--json'], '--json is not an option of nrcert run (it is one of nrcert status, nrcert doctor, nrcert clients, nrcert fleet)'],
    [['renew', '--settings', 'x'], '--settings is not an option of nrcert renew (it is one of nrcert doctor, nrcert settings)'],
    [['frobnicate'], 'unknown command "frobnicate"; the commands are init, renew, run, status, rollback, doctor, settings, clients, editor, fleet; run nrcert help'],
    [['renew', 'now'], 'nrcert renew takes no arguments (got "now"); see nrcert help renew'],
    [['--force'], '--force needs a command (it is an option of nrcert renew)'],
  ])('refuses %j with a UsageError', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(UsageError);
    expect(() => parseArgs(argv)).toThrow(message);
  });

  it('refuses an empty --env-file= instead of silently reading another file', () => {
    expect(() => parseArgs(['renew', '--env-file='])).toThrow(UsageError);
  });

  it.each(Object.keys(COMMAND_SPECS))('%s: every declared option is in its help and is accepted, with or without a value as declared', (command) => {
    for (const [name, o] of Object.entries(COMMAND_SPECS[command].options)) {
      expect(commandHelp(command)).toContain(`--${name}${o.value ? ` ${o.value}` : ''}`);
      const argv = o.type === 'string' ? [command, `--${name}`, 'x'] : [command, `--${name}`];
      expect(parseArgs(argv)).toMatchObject(o.type === 'string' ? { options: { [name]: 'x' } } : { flags: { [name]: true } });
    }
  });

  it('gives an option one type across commands (the command is found before its own options are known)', () => {
    const types = new Map<string, string>();
    for (const spec of Object.values(COMMAND_SPECS)) {
      for (const [name, o] of Object.entries(spec.options)) {
        expect(types.get(name) ?? o.type).toBe(o.type);
        types.set(name, o.type);
      }
    }
  });
});

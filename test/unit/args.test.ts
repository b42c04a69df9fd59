import { parseArgs } from '../../src/cli/args';
import { UsageError } from '../../src/errors';

describe('parseArgs', () => {
  it('reads the command, its flags and positionals', () => {
    expect(parseArgs(['renew', '--force', '--dry-run'])).toEqual({
      command: 'renew', flags: { force: true, 'dry-run': true }, options: {}, positionals: [],
    });
    expect(parseArgs(['status', '--json', 'extra'])).toEqual({
      command: 'status', flags: { json: true }, options: {}, positionals: ['extra'],
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

  it('maps -h, --help and --version to flags', () => {
    expect(parseArgs(['-h']).flags).toEqual({ help: true });
    expect(parseArgs(['renew', '--help']).flags).toEqual({ help: true });
    expect(parseArgs(['--version']).flags).toEqual({ version: true });
  });

  it.each([
    [['renew', '--frobnicate'], 'unknown option --frobnicate'],
    [['renew', '--force=yes'], 'unknown option --force=yes'],
    [['renew', '--env-file'], '--env-file needs a value'],
  ])('refuses %j with a UsageError', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(UsageError);
    expect(() => parseArgs(argv)).toThrow(message);
  });

  it('refuses an empty --env-file= instead of silently reading another file', () => {
    expect(() => parseArgs(['renew', '--env-file='])).toThrow(UsageError);
  });
});

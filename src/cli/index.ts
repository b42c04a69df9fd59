#!/usr/bin/env node
/**
 * nrcert's entry point: parses the command line, loads only the module of the command asked
 * for (so `status` never pays for the ACME or Cloudflare libraries), maps errors to exit codes,
 * and is the only place that calls process.exit.
 */
import { describeError, exitCodeOf, UsageError } from '../errors';
import { parseArgs, type ParsedArgs } from './args';

const USAGE = `Usage: nrcert <command> [options]

Commands:
  renew [--force] [--dry-run]   obtain or renew the certificate when due, and install it
        [--scheduled]           (as the service/timer do: honour the back-off after failures)
  run                           the service: check twice a day and renew when due
  status [--json]               show the installed certificate and when it is due
  rollback                      put the previous certificate back and restart/reload Node-RED
  settings [--refresh-minutes N]
                                print the settings.js lines that make Node-RED use CERT_DIR
  settings --apply [--settings PATH] [--refresh-minutes N]
                                put them into settings.js (backed up and checked first;
                                default: $NODE_RED_USER_DIR/settings.js, else ~/.node-red)
  help                          show this help
  version                       print the version

Options:
  --env-file PATH   read settings from PATH (default: $NRCERT_ENV_FILE, else ./.env)
`;

type Command = (args: ParsedArgs) => Promise<number>;

const COMMANDS: Record<string, () => Command> = {
  renew: () => (require('./renew') as typeof import('./renew')).renewCommand,
  status: () => (require('./status') as typeof import('./status')).statusCommand,
  rollback: () => (require('./rollback') as typeof import('./rollback')).rollbackCommand,
  run: () => (require('./run') as typeof import('./run')).runCommand,
  settings: () => (require('./settings') as typeof import('./settings')).settingsCommand,
};

async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  if (!args.command || args.command === 'help' || args.flags.help) {
    process.stdout.write(USAGE);
    return args.command && args.command !== 'help' && !args.flags.help ? 2 : 0;
  }
  if (args.command === 'version' || args.flags.version) {
    process.stdout.write(`${(require('../../package.json') as { version: string }).version}\n`);
    return 0;
  }
  const load = COMMANDS[args.command];
  if (!load) throw new UsageError(`unknown command "${args.command}"; run nrcert help`);
  return load()(args);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`nrcert: ${describeError(err)}\n`);
    process.exitCode = exitCodeOf(err);
  },
);

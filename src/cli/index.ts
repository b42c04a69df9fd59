#!/usr/bin/env -S node --
/**
 * nrcert's entry point: parses the command line, loads only the module of the command asked
 * for (so `status` never pays for the ACME or Cloudflare libraries), maps errors to exit codes,
 * and is the only place that calls process.exit.
 *
 * The shebang passes `--` to node: Node 20 otherwise takes the script's own `--env-file PATH`
 * for its option of that name and exits 9 when PATH does not exist (nodejs/node#54232).
 */
import { describeError, ExitCode, exitCodeOf, UsageError } from '../errors';
import { parseArgs, type ParsedArgs } from './args';
import { isJournalStream, withPriority } from '../util/journal';

const USAGE = `Usage: nrcert <command> [options]

Commands:
  init                          set up: asks a few questions, checks the Cloudflare token, writes .env,
                                edits settings.js, runs a dry run and the first renewal, offers the service
       [--non-interactive] [--yes] [--domain D] [--token-file F | --token-env VAR]
       [--node-red-dir DIR] [--restart auto|none|"command"] [--notify-url U] [--email E]
       [--skip-dry-run] [--no-service] [--acme-directory URL] [--dns-resolvers H:P]
       [--cloudflare-base-url URL]
  renew [--force] [--dry-run]   obtain or renew the certificate when due, and install it
        [--scheduled]           (as the service/timer do: honour the back-off after failures)
  run                           the service: check twice a day and renew when due
  status [--json]               show the installed certificate and when it is due
  rollback                      put the previous certificate back and restart/reload Node-RED
  doctor [--json] [--settings PATH]
                                check the whole set-up (token, DNS, clock, files, settings.js,
                                Node-RED, service, security) and print a fix for each failure
  settings [--refresh-minutes N]
                                print the settings.js lines that make Node-RED use CERT_DIR
  settings --apply [--settings PATH] [--refresh-minutes N]
                                put them into settings.js (backed up and checked first;
                                default: $NODE_RED_USER_DIR/settings.js, else ~/.node-red)
  settings --apply --client-certs require|editor|off
                                also make Node-RED ask for client certificates (nrcert clients)
  clients init                  once: a CA for client certificates in STATE_DIR
  clients add NAME [--days N] [--out DIR] [--p12 legacy|modern] [--password-file F]
                                NAME.p12 (+ a password printed once) and NAME.pem
  clients list [--json]         name, serial, notBefore, notAfter, revoked
  clients revoke NAME           refused from Node-RED's next https refresh on
  help                          show this help
  version                       print the version

Options:
  --env-file PATH   read settings from PATH (default: $NRCERT_ENV_FILE, else ./.env)
`;

type Command = (args: ParsedArgs) => Promise<number>;

const COMMANDS: Record<string, () => Command> = {
  init: () => (require('./init') as typeof import('./init')).initCommand,
  renew: () => (require('./renew') as typeof import('./renew')).renewCommand,
  status: () => (require('./status') as typeof import('./status')).statusCommand,
  rollback: () => (require('./rollback') as typeof import('./rollback')).rollbackCommand,
  run: () => (require('./run') as typeof import('./run')).runCommand,
  settings: () => (require('./settings') as typeof import('./settings')).settingsCommand,
  doctor: () => (require('./doctor') as typeof import('./doctor')).doctorCommand,
  clients: () => (require('./clients') as typeof import('./clients')).clientsCommand,
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
    // Under systemd the last word is an error for `journalctl -p err` too, whatever LOG_FORMAT says;
    // a run stopped after cleaning up is only a notice (the units count exit 130 as success).
    const text = `nrcert: ${describeError(err)}\n`;
    const priority = exitCodeOf(err) === ExitCode.interrupted ? 5 : 3;
    process.stderr.write(isJournalStream(2) ? withPriority(priority, text) : text);
    process.exitCode = exitCodeOf(err);
  },
);

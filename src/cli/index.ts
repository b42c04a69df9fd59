#!/usr/bin/env -S node --
/**
 * nrcert's entry point: parses the command line, loads only the module of the command asked
 * for (so `status` never pays for the ACME or Cloudflare libraries), maps errors to exit codes,
 * and is the only place that calls process.exit.
 *
 * The shebang passes `--` to node: Node (20, 22 and 24 alike) otherwise takes the script's own
 * `--env-file PATH` for its option of that name and exits 9 when PATH does not exist
 * (nodejs/node#54232; test/integration/invocations.test.ts pins it down).
 */
// First, before any module of nrcert loads (even resolving one counts): `nrcert run` interprets
// only (see resident.ts for why). `run` anywhere in the command line counts: a false match
// (`--env-file run`) only makes one short command interpret (and start once more, below).
if (process.argv.slice(2).includes('run')) {
  // Node 24 has Maglev-compiled path's isPosixPathSeparator before this line, resolving this
  // script (≈ 1.5 MB resident for good): started without `--no-maglev` (by hand, `npx`, docker),
  // the service starts itself once more in place with it, same pid, stdio and environment
  // (process.execve, Node ≥ 22.15; the systemd unit passes the flag itself). The environment is
  // passed explicitly: before nodejs/node#60029 (22.20, 24.10) an omitted one was empty. A failed
  // execve(2) aborts the process before Node 26 (nodejs/node#62878), so it is tried only on a
  // node binary that is there and executable; what Node refuses before the call (permission
  // model, a worker) throws, and the service runs on as it is. Not for other commands: any V8
  // flag on the command line costs their start Node's code cache for its built-ins.
  const proc = process as NodeJS.Process & { execve?: (file: string, args: string[], env: NodeJS.ProcessEnv) => never };
  const flagged = process.execArgv.includes('--no-maglev') || /(^|\s)--no-maglev(\s|$)/.test(process.env.NODE_OPTIONS ?? '');
  if (proc.execve && !flagged && executable(process.execPath)) {
    try {
      proc.execve(process.execPath, [process.execPath, '--no-maglev', ...process.execArgv, '--', process.argv[1]!, ...process.argv.slice(2)], process.env);
    } catch {
      // runs on with Maglev's one compilation
    }
  }
  for (const flag of ['--no-turbofan', '--no-maglev', '--no-sparkplug']) (require('node:v8') as typeof import('node:v8')).setFlagsFromString(flag);
}
import { describeError, ExitCode, exitCodeOf } from '../errors';
import { parseArgs, unknownCommand, type ParsedArgs } from './args';
import { commandHelp, COMMAND_SPECS, generalHelp } from './commands';
import { invocationOf } from './invocation';
import { isJournalStream, withPriority } from '../util/journal';
import { setInvocation } from '../util/hint';

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
  editor: () => (require('./editor') as typeof import('./editor')).editorCommand,
  fleet: () => (require('./fleet') as typeof import('./fleet')).fleetCommand,
};

async function main(argv: string[]): Promise<number> {
  setInvocation(invocationOf({ searchPath: process.env.PATH ?? '', script: __filename, execPath: process.execPath, npmCommand: process.env.npm_command }));
  const args = parseArgs(argv);
  if (args.command === 'help' || args.flags.help) {
    // `help --help` is help's own help.
    const topic = args.command === 'help' ? (args.positionals[0] ?? (args.flags.help ? 'help' : undefined)) : args.command;
    if (topic !== undefined && !(topic in COMMAND_SPECS)) throw unknownCommand(topic);
    process.stdout.write(topic === undefined ? generalHelp() : commandHelp(topic));
    return 0;
  }
  if (args.command === 'version' || args.flags.version) {
    process.stdout.write(`${(require('../../package.json') as { version: string }).version}\n`);
    return 0;
  }
  if (!args.command) {
    process.stdout.write(generalHelp());
    return 0;
  }
  const load = COMMANDS[args.command];
  if (!load) throw unknownCommand(args.command);
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

/** Whether `file` is there and executable by this process (a function declaration: hoisted above the first statement). */
function executable(file: string): boolean {
  const fs = require('node:fs') as typeof import('node:fs');
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

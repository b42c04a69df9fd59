import { homedir } from 'node:os';
import type { ConfigSources } from '../config/config';
import { UsageError } from '../errors';

/** A parsed command line: the command, its boolean flags and its valued options. */
export interface ParsedArgs {
  command?: string;
  flags: Record<string, boolean>;
  options: Record<string, string>;
  positionals: string[];
}

const VALUED = new Set([
  'env-file', 'settings', 'refresh-minutes', 'to', 'admin-user', 'admin-password-file',
  // nrcert init
  'domain', 'token-file', 'token-env', 'node-red-dir', 'restart', 'notify-url', 'email', 'acme-directory', 'dns-resolvers', 'cloudflare-base-url',
  // nrcert clients, nrcert settings --client-certs
  'days', 'out', 'p12', 'password-file', 'client-certs',
]);
const BOOLEAN = new Set([
  'force', 'dry-run', 'json', 'help', 'version', 'apply', 'scheduled', 'node-auth', 'static-auth',
  // nrcert init
  'non-interactive', 'yes', 'skip-dry-run', 'no-service',
]);

/** Parses `command --flag --option value --option=value`; unknown options are a UsageError. */
export function parseArgs(argv: string[]): ParsedArgs {
  const parsed: ParsedArgs = { flags: {}, options: {}, positionals: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h') parsed.flags.help = true;
    else if (arg.startsWith('--')) {
      const [name, inline] = arg.slice(2).split(/=(.*)/s, 2);
      if (VALUED.has(name)) {
        const value = inline ?? argv[++i];
        if (!value || (inline === undefined && value.startsWith('--'))) throw new UsageError(`--${name} needs a value`);
        parsed.options[name] = value;
      } else if (BOOLEAN.has(name) && inline === undefined) {
        parsed.flags[name] = true;
      } else {
        throw new UsageError(`unknown option ${arg}; run nrcert help`);
      }
    } else if (!parsed.command) parsed.command = arg;
    else parsed.positionals.push(arg);
  }
  return parsed;
}

/** Where a command's configuration comes from: this process's environment, home and cwd, and --env-file. */
export function configSources(args: ParsedArgs): ConfigSources {
  return { env: process.env, home: homedir(), cwd: process.cwd(), envFileFlag: args.options['env-file'] };
}

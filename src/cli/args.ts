import { homedir } from 'node:os';
import { parseArgs as nodeParseArgs } from 'node:util';
import type { ConfigSources } from '../config/config';
import { UsageError } from '../errors';
import { nrcertCommand } from '../util/hint';
import { COMMAND_SPECS, GLOBAL_OPTIONS, optionsOf, optionList, type OptionSpec } from './commands';

/** A parsed command line: the command, its boolean flags and its valued options. */
export interface ParsedArgs {
  command?: string;
  flags: Record<string, boolean>;
  options: Record<string, string>;
  positionals: string[];
}

/** Every option any command declares, for finding the command before its own options are known. */
const ALL_OPTIONS: Record<string, OptionSpec> = Object.assign({}, GLOBAL_OPTIONS, ...Object.values(COMMAND_SPECS).map((c) => c.options));

/**
 * Parses `[options] command [options]` against that command's own declaration (COMMAND_SPECS),
 * with Node's util.parseArgs in strict mode. An option of another command, an unknown option, a
 * value where none belongs (or none where one does) and an unknown command are UsageErrors.
 */
export function parseArgs(argv: string[]): ParsedArgs {
  const { tokens } = nodeParseArgs({ args: argv, options: nodeOptions(ALL_OPTIONS), strict: false, allowPositionals: true, tokens: true });
  const command = tokens.find((t) => t.kind === 'positional')?.value;
  if (command !== undefined && !(command in COMMAND_SPECS)) throw unknownCommand(command);
  const own = command === undefined ? GLOBAL_OPTIONS : optionsOf(command);
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    if (!(token.name in own)) throw misplacedOption(token.rawName, token.name, command);
    const valued = own[token.name].type === 'string';
    const missing = token.value === undefined || token.value === '' || (!token.inlineValue && token.value.startsWith('-'));
    if (valued && missing) throw new UsageError(`${token.rawName} needs a value: ${token.rawName} ${own[token.name].value}`);
    if (!valued && token.value !== undefined) throw new UsageError(`${token.rawName} takes no value (got ${token.rawName}=${token.value})`);
  }
  // Everything is checked above; strict mode is the second guard and gives the typed values.
  const parsed = nodeParseArgs({ args: argv, options: nodeOptions(own), strict: true, allowPositionals: true });
  const result: ParsedArgs = { command, flags: {}, options: {}, positionals: parsed.positionals.slice(command === undefined ? 0 : 1) };
  for (const [name, value] of Object.entries(parsed.values)) {
    if (typeof value === 'boolean') result.flags[name] = value;
    else if (typeof value === 'string') result.options[name] = value;
  }
  const spec = command === undefined ? undefined : COMMAND_SPECS[command];
  if (spec && !spec.argument && result.positionals.length > 0) {
    throw new UsageError(`nrcert ${command} takes no arguments (got "${result.positionals[0]}"); see ${nrcertCommand(`help ${command}`)}`);
  }
  return result;
}

function nodeOptions(options: Record<string, OptionSpec>): NonNullable<Parameters<typeof nodeParseArgs>[0]>['options'] {
  return Object.fromEntries(Object.entries(options).map(([name, o]) => [name, o.short ? { type: o.type, short: o.short } : { type: o.type }]));
}

/** An unknown command, with the commands there are. */
export function unknownCommand(command: string): UsageError {
  const names = Object.keys(COMMAND_SPECS).filter((n) => !COMMAND_SPECS[n].pseudo);
  return new UsageError(`unknown command "${command}"; the commands are ${names.join(', ')}; run ${nrcertCommand('help')}`);
}

/** `--force` on status: names the command(s) that do own it, and lists this command's options. */
function misplacedOption(raw: string, name: string, command: string | undefined): UsageError {
  const owners = Object.keys(COMMAND_SPECS).filter((n) => name in COMMAND_SPECS[n].options).map((n) => `nrcert ${n}`);
  if (command === undefined) {
    return new UsageError(`${raw} needs a command${owners.length ? ` (it is an option of ${owners.join(', ')})` : ''}; run ${nrcertCommand('help')}`);
  }
  const takes = `nrcert ${command} takes: ${optionList(command)}`;
  if (owners.length === 0) return new UsageError(`unknown option ${raw}; ${takes}`);
  return new UsageError(`${raw} is not an option of nrcert ${command} (it is one of ${owners.join(', ')}); ${takes}`);
}

/** Where a command's configuration comes from: this process's environment, home and cwd, and --env-file. */
export function configSources(args: ParsedArgs): ConfigSources {
  return { env: process.env, home: homedir(), cwd: process.cwd(), envFileFlag: args.options['env-file'] };
}

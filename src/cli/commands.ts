/**
 * What each command is and which options it takes: the one declaration that both parsing
 * (cli/args.ts, through util.parseArgs) and the help text (below) come from.
 */
import { nrcertCommand } from '../util/hint';

/** One option: boolean flag or valued (`value` is its placeholder in help), with a line of help. */
export interface OptionSpec {
  type: 'boolean' | 'string';
  value?: string;
  short?: string;
  help: string;
}

/** One command: what it does, its options, and whether it takes an argument (`help COMMAND`). */
export interface CommandSpec {
  summary: string;
  options: Record<string, OptionSpec>;
  argument?: string;
  /** help and version: commands about nrcert itself, left out of "the commands are …". */
  pseudo?: boolean;
}

/** Options every command takes, and nrcert without a command. */
export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  help: { type: 'boolean', short: 'h', help: 'show this help' },
  version: { type: 'boolean', short: 'v', help: 'print the version' },
};

const ENV_FILE: Record<string, OptionSpec> = {
  'env-file': { type: 'string', value: 'PATH', help: 'read settings from PATH (default: $NRCERT_ENV_FILE, else ./.env)' },
};

/** Every command, in the order help lists them. */
export const COMMAND_SPECS: Record<string, CommandSpec> = {
  init: {
    summary: 'set up: asks a few questions, checks the Cloudflare token, writes .env, edits settings.js, runs a dry run and the first renewal, offers the service',
    options: {
      'non-interactive': { type: 'boolean', help: 'ask nothing: take every answer from the options below' },
      yes: { type: 'boolean', help: 'answer yes to every confirmation' },
      domain: { type: 'string', value: 'D', help: 'the domain (e.g. example.com: the certificate covers it and *.example.com)' },
      'token-file': { type: 'string', value: 'F', help: 'read the Cloudflare API token from file F' },
      'token-env': { type: 'string', value: 'VAR', help: 'read the Cloudflare API token from the environment variable VAR' },
      'node-red-dir': { type: 'string', value: 'DIR', help: 'Node-RED\'s user directory (where settings.js is)' },
      restart: { type: 'string', value: 'auto|none|"command"', help: 'how to restart Node-RED after a renewal' },
      'notify-url': { type: 'string', value: 'U', help: 'POST renewal events as JSON to U' },
      email: { type: 'string', value: 'E', help: 'ACME account e-mail (Let\'s Encrypt writes there about problems)' },
      'skip-dry-run': { type: 'boolean', help: 'skip the dry run against Let\'s Encrypt staging' },
      'no-service': { type: 'boolean', help: 'do not offer the systemd service' },
      'admin-user': { type: 'string', value: 'NAME', help: 'a login for the editor (adminAuth) as user NAME (asked when interactive)' },
      'admin-password-file': { type: 'string', value: 'F', help: 'with --admin-user: the password, on the first line of F (stored only as a bcrypt hash)' },
      'node-auth': { type: 'boolean', help: 'with --admin-user: the same login for the dashboard and http-in nodes (httpNodeAuth)' },
      'static-auth': { type: 'boolean', help: 'with --admin-user: the same login for httpStatic files (httpStaticAuth)' },
      'acme-directory': { type: 'string', value: 'URL', help: 'another ACME directory (ACME_DIRECTORY)' },
      'dns-resolvers': { type: 'string', value: 'H:P', help: 'check propagation at these resolvers (DNS_RESOLVERS)' },
      'cloudflare-base-url': { type: 'string', value: 'URL', help: 'another Cloudflare API base URL (CLOUDFLARE_BASE_URL)' },
      'delegate-to': { type: 'string', value: 'ZONE', help: 'CNAME delegation: the challenge records go in ZONE (prints the CNAME to create; the token needs ZONE only)' },
      ...ENV_FILE,
    },
  },
  renew: {
    summary: 'obtain or renew the certificate when due, and install it',
    options: {
      force: { type: 'boolean', help: 'renew now, whatever the policy says' },
      'dry-run': { type: 'boolean', help: 'a full order against Let\'s Encrypt staging; installs nothing' },
      scheduled: { type: 'boolean', help: 'as the service and the timer run it: honour the back-off after failures' },
      doctor: { type: 'boolean', help: 'afterwards, run doctor\'s checks for the editor\'s sidebar (EDITOR_DIR/doctor.json; --scheduled does too)' },
      ...ENV_FILE,
    },
  },
  run: { summary: 'the service: check twice a day and renew when due', options: { ...ENV_FILE } },
  status: {
    summary: 'show the installed certificate and when it is due',
    options: { json: { type: 'boolean', help: 'print it as JSON, with every lineage' }, ...ENV_FILE },
  },
  rollback: {
    summary: 'put the previous certificate back and restart/reload Node-RED',
    options: { to: { type: 'string', value: 'ID', help: 'roll back to lineage ID on purpose (nrcert status --json lists them)' }, ...ENV_FILE },
  },
  doctor: {
    summary: 'check the whole set-up (token, DNS, clock, files, settings.js, Node-RED, service, security) and print a fix for each failure',
    options: {
      json: { type: 'boolean', help: 'print { ok, checks } as JSON' },
      settings: { type: 'string', value: 'PATH', help: 'the settings.js to check (default: $NODE_RED_USER_DIR/settings.js, else ~/.node-red)' },
      ...ENV_FILE,
    },
  },
  settings: {
    summary: 'print the settings.js lines that make Node-RED use CERT_DIR, or put them into settings.js',
    options: {
      apply: { type: 'boolean', help: 'put them into settings.js (backed up and checked first)' },
      settings: { type: 'string', value: 'PATH', help: 'with --apply: the settings.js (default: $NODE_RED_USER_DIR/settings.js, else ~/.node-red)' },
      'refresh-minutes': { type: 'string', value: 'N', help: 'how often Node-RED re-reads the files (minutes, default 1)' },
      'client-certs': { type: 'string', value: 'require|editor|off', help: 'also make Node-RED ask for client certificates (nrcert clients): every request, the editor only, or none' },
      'admin-user': { type: 'string', value: 'NAME', help: 'with --apply: a login for the editor (adminAuth) as user NAME' },
      'admin-password-file': { type: 'string', value: 'F', help: 'with --admin-user: the password, on the first line of F (stored only as a bcrypt hash)' },
      'node-auth': { type: 'boolean', help: 'with --admin-user: the same login for the dashboard and http-in nodes (httpNodeAuth)' },
      'static-auth': { type: 'boolean', help: 'with --admin-user: the same login for httpStatic files (httpStaticAuth)' },
      'editor-plugin': { type: 'boolean', help: 'with --apply: install node-red-contrib-nrcert (the Certificates sidebar, the nrcert events node) into Node-RED\'s user dir and point it at EDITOR_DIR' },
      'editor-plugin-from': { type: 'string', value: 'DIR', help: 'with --editor-plugin: install the package from DIR (default: the one shipped with nrcert, deploy/node-red)' },
      ...ENV_FILE,
    },
  },
  clients: {
    summary: 'client certificates from a small CA nrcert keeps: init (once), add NAME (NAME.p12 + a password printed once, NAME.pem), list, revoke NAME',
    argument: 'init | add NAME | list | revoke NAME',
    options: {
      days: { type: 'string', value: 'N', help: 'add: valid for N days (default 825)' },
      out: { type: 'string', value: 'DIR', help: 'add: write NAME.p12 and NAME.pem into DIR (default: the working directory)' },
      p12: { type: 'string', value: 'legacy|modern', help: 'add: legacy (3DES, SHA-1 MAC: imports on older phones; default) or modern (AES-256/PBKDF2)' },
      'password-file': { type: 'string', value: 'F', help: 'add: take the .p12 password from the first line of F instead of a random one' },
      json: { type: 'boolean', help: 'list: as JSON' },
      ...ENV_FILE,
    },
  },
  editor: {
    summary: 'the Node-RED editor\'s folder (EDITOR_DIR): init creates it and publishes status, doctor and clients; process handles the requests in its spool once (the timer variant\'s nrcert-editor.path runs it)',
    argument: 'init | process',
    options: { ...ENV_FILE },
  },
  fleet: {
    summary: 'the fleet (FLEET_*): its issuer, its certificate and every host\'s installed fingerprint and last report',
    argument: 'status',
    options: { json: { type: 'boolean', help: 'print it as JSON' }, ...ENV_FILE },
  },
  help: { summary: 'show this help, or one command\'s', options: {}, argument: '[COMMAND]', pseudo: true },
  version: { summary: 'print the version', options: {}, pseudo: true },
};

/** A command's options with the global ones: what parsing accepts after it. */
export function optionsOf(command: string): Record<string, OptionSpec> {
  return { ...COMMAND_SPECS[command].options, ...GLOBAL_OPTIONS };
}

function optionLabel(name: string, o: OptionSpec): string {
  return `${o.short ? `-${o.short}, ` : ''}--${name}${o.value ? ` ${o.value}` : ''}`;
}

/** A command's own options in one line, for error messages: `--force, --dry-run, --env-file PATH`. */
export function optionList(command: string): string {
  const own = Object.entries(COMMAND_SPECS[command].options).map(([name, o]) => `--${name}${o.value ? ` ${o.value}` : ''}`);
  return [...own, '--help'].join(', ');
}

/** `nrcert help`: every command with its summary. */
export function generalHelp(): string {
  const lines = ['Usage: nrcert <command> [options]', '', 'Commands:'];
  for (const [name, spec] of Object.entries(COMMAND_SPECS)) lines.push(...wrap(spec.summary, 78).map((l, i) => `  ${(i ? '' : name).padEnd(10)}${l}`));
  lines.push('', 'Every command takes --env-file PATH (default: $NRCERT_ENV_FILE, else ./.env) and -h/--help.',
    `${nrcertCommand('help COMMAND')} (or COMMAND --help) shows its options; -v/--version prints the version.`, '');
  return lines.join('\n');
}

/** `text` in lines of at most `width` characters, broken at spaces. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line];
}

/** `nrcert help COMMAND`: its usage line, what it does, and each of its options. */
export function commandHelp(command: string): string {
  const spec = COMMAND_SPECS[command];
  const options = Object.entries({ ...spec.options, help: GLOBAL_OPTIONS.help });
  const labels = options.map(([name, o]) => optionLabel(name, o));
  const width = Math.max(...labels.map((l) => l.length)) + 3;
  return [
    `Usage: nrcert ${command}${spec.argument ? ` ${spec.argument}` : ''}${Object.keys(spec.options).length ? ' [options]' : ''}`,
    '',
    ...wrap(`${spec.summary[0].toUpperCase()}${spec.summary.slice(1)}.`, 90),
    '',
    'Options:',
    ...options.map(([, o], i) => `  ${labels[i].padEnd(width)}${o.help}`),
    '',
  ].join('\n');
}

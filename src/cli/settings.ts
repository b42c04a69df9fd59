import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { configSources, type ParsedArgs } from './args';
import { loadConfig } from '../config/config';
import { readFile } from 'node:fs/promises';
import { UsageError } from '../errors';
import { Secret } from '../config/secret';
import { applyLogin, checkLoginFits, checkPassword, checkUserName, passwordFromFile, type LoginScope } from '../nodered/login';
import {
  applySettings, DEFAULT_REFRESH_MINUTES, MAX_REFRESH_MINUTES, settingsBlock, settingsPathFor, type ApplyResult,
} from '../nodered/settings';
import { nrcertCommand } from '../util/hint';

/**
 * `nrcert settings [--refresh-minutes N]` prints the settings.js lines for CERT_DIR;
 * `--apply [--settings PATH]` puts them into settings.js itself (backup, check, atomic swap).
 */
export async function settingsCommand(args: ParsedArgs): Promise<number> {
  const config = loadConfig(configSources(args), 'status');
  const refreshMinutes = parseRefreshMinutes(args.options['refresh-minutes']);
  if (!args.flags.apply) {
    if (args.options.settings !== undefined) throw new UsageError(`--settings goes with --apply: ${nrcertCommand('settings')} --apply --settings PATH`);
    process.stderr.write(
      'Paste these lines into module.exports = { … } of Node-RED\'s settings.js, removing any other active ' +
        `https, httpsRefreshInterval and requireHttps, then restart Node-RED (or run: ${nrcertCommand('settings')} --apply).\n` +
        'requireHttps only redirects requests that arrive as plain HTTP through a proxy.\n',
    );
    process.stdout.write(settingsBlock({ certDir: config.certDir, refreshMinutes }));
    return 0;
  }
  const settingsPath = settingsPathFor({
    flag: args.options.settings, env: { NODE_RED_USER_DIR: config.nodeRed.userDir }, home: homedir(), cwd: process.cwd(), exists: existsSync,
  });
  const login = await loginRequest(args);
  if (login) await checkLoginFits(settingsPath, login.scope);
  const result = await applySettings({ settingsPath, certDir: config.certDir, refreshMinutes });
  process.stdout.write(`${describeApply(result, config.certDir, refreshMinutes).join('\n')}\n`);
  if (login) {
    const done = await applyLogin({ settingsPath, certDir: config.certDir, ...login });
    const parts = ['the editor', ...(login.scope.nodes ? ['the dashboard and http-in nodes'] : []), ...(login.scope.static ? ['httpStatic files'] : [])];
    process.stdout.write(done.changed
      ? `Backed up ${done.path} to ${done.backupPath}\nWrote the login block: ${parts.join(', ')} ask for user ${login.user} (bcrypt hash; the password is stored nowhere). Restart Node-RED once to load it.\n`
      : `${done.path} already has this login: nothing to change.\n`);
  }
  if (!result.certificatePresent) {
    process.stderr.write(
      `warning: ${config.certDir} holds no privkey.pem yet: Node-RED will not start with these settings ` +
        `until \`${nrcertCommand('renew')}\` has installed a certificate\n`,
    );
  }
  return 0;
}

/** `--admin-user NAME --admin-password-file F [--node-auth] [--static-auth]`, checked before anything is written. */
async function loginRequest(args: ParsedArgs): Promise<{ user: string; password: Secret; scope: LoginScope } | null> {
  const user = args.options['admin-user'];
  const file = args.options['admin-password-file'];
  if (user === undefined && file === undefined && !args.flags['node-auth'] && !args.flags['static-auth']) return null;
  if (user === undefined || file === undefined) {
    throw new UsageError('a login needs both --admin-user NAME and --admin-password-file FILE (the password on its first line)');
  }
  checkUserName(user);
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`--admin-password-file: cannot read ${file} (${err.code ?? 'error'})`);
  });
  const password = new Secret(passwordFromFile(text, file));
  checkPassword(password);
  return { user, password, scope: { nodes: Boolean(args.flags['node-auth']), static: Boolean(args.flags['static-auth']) } };
}

/** --refresh-minutes as a number of minutes (fractions allowed), or a UsageError. */
function parseRefreshMinutes(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_REFRESH_MINUTES;
  const minutes = Number(raw);
  if (!/^\d*\.?\d+$/.test(raw.trim()) || !(minutes > 0) || minutes > MAX_REFRESH_MINUTES) {
    throw new UsageError(`--refresh-minutes: "${raw}" is not a number of minutes between 0 and ${MAX_REFRESH_MINUTES} (e.g. 1 or 0.5)`);
  }
  return minutes;
}

/** The lines `--apply` prints about what it did. */
function describeApply(result: ApplyResult, certDir: string, minutes: number): string[] {
  if (!result.changed) return [`${result.path} already has this nrcert block: nothing to change (already applied).`];
  const lines = [`Backed up ${result.path} to ${result.backupPath}`];
  if (result.removed.length > 0) {
    lines.push(`Removed the active ${result.removed.join(', ')} setting(s) from module.exports; the nrcert block sets them now.`);
  }
  lines.push(
    `${result.replaced ? 'Updated' : 'Inserted'} the nrcert block: https reads ${certDir}, ` +
      `re-read every ${minutes === 1 ? 'minute' : `${minutes} minutes`}, requireHttps on.`,
    result.certificatePresent
      ? 'Checked with node: the file loads and settings.https() returns the installed key and certificate.'
      : 'Checked with node: the file loads and settings.https is a function (no certificate to read yet).',
    `Wrote ${result.path}. Restart Node-RED once to load it; later certificates are picked up without a restart.`,
  );
  return lines;
}

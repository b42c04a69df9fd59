import { existsSync, statSync } from 'node:fs';
import { runningAsRoot } from '../privilege/as-owner';
import { homedir } from 'node:os';
import { configSources, type ParsedArgs } from './args';
import { loadConfig, type Config } from '../config/config';
import { createLogger } from '../log';
import { publishForEditor } from './editor-publish';
import { readFile } from 'node:fs/promises';
import { NoClientCaError, UsageError } from '../errors';
import { dirname, resolve } from 'node:path';
import { clientPath } from '../store/state-dir';
import { Secret } from '../config/secret';
import { applyLogin, checkLoginFits, checkPassword, checkUserName, passwordFromFile, type LoginScope } from '../nodered/login';
import {
  applySettings, clientCertModeIn, DEFAULT_REFRESH_MINUTES, MAX_REFRESH_MINUTES, settingsBlock, settingsPathFor, type ApplyResult,
  type ClientCertMode, type ClientCertSettings,
} from '../nodered/settings';
import { nrcertCommand } from '../util/hint';

/**
 * `nrcert settings [--refresh-minutes N]` prints the settings.js lines for CERT_DIR;
 * `--apply [--settings PATH]` puts them into settings.js itself (backup, check, atomic swap).
 */
export async function settingsCommand(args: ParsedArgs): Promise<number> {
  const config = loadConfig(configSources(args), 'status');
  const refreshMinutes = parseRefreshMinutes(args.options['refresh-minutes']);
  const asked = parseClientCerts(args.options['client-certs']);
  if (!args.flags.apply) {
    if (args.flags['editor-plugin'] || args.options['editor-plugin-from'] !== undefined) throw new UsageError(`--editor-plugin goes with --apply: ${nrcertCommand('settings')} --apply --editor-plugin`);
    if (args.options.settings !== undefined) throw new UsageError(`--settings goes with --apply: ${nrcertCommand('settings')} --apply --settings PATH`);
    process.stderr.write(
      'Paste these lines into module.exports = { … } of Node-RED\'s settings.js, removing any other active ' +
        `https, httpsRefreshInterval and requireHttps, then restart Node-RED (or run: ${nrcertCommand('settings')} --apply).\n` +
        'requireHttps only redirects requests that arrive as plain HTTP through a proxy.\n',
    );
    process.stdout.write(settingsBlock({ certDir: config.certDir, refreshMinutes, clientCerts: clientCertSettings(config.stateDir, asked ?? 'off') }));
    return 0;
  }
  const settingsPath = settingsPathFor({
    flag: args.options.settings, env: { NODE_RED_USER_DIR: config.nodeRed.userDir }, home: homedir(), cwd: process.cwd(), exists: existsSync,
  });
  const login = await loginRequest(args);
  if (login) await checkLoginFits(settingsPath, login.scope);
  if (args.flags['editor-plugin']) (require('../nodered/editor-plugin') as typeof import('../nodered/editor-plugin')).checkPluginDir(pluginDirOf(args.options['editor-plugin-from']));
  // Without --client-certs the mode already in the block stays: re-applying never switches it off.
  const before = await readFile(settingsPath, 'utf8').then(clientCertModeIn, () => null);
  const mode = asked ?? before ?? 'off';
  const clientCerts = clientCertSettings(config.stateDir, mode);
  const result = await applySettings({ settingsPath, certDir: config.certDir, refreshMinutes, clientCerts });
  process.stdout.write(`${describeApply(result, config.certDir, refreshMinutes).join('\n')}\n`);
  if (result.changed && (before ?? 'off') !== mode) {
    process.stdout.write(
      `Client certificates: ${mode === 'off' ? 'off' : `${mode} mode (${mode === 'require' ? 'every connection needs one' : 'the editor, admin API and /comms need one; http-in and the dashboard do not'})`}. ` +
        'requestCert and rejectUnauthorized are fixed when Node-RED creates its server: restart Node-RED once for this change. ' +
        'Later revocations (nrcert clients revoke) apply at the next refresh, without a restart.\n',
    );
    if (mode === 'require') {
      process.stdout.write('Note: Node-RED\'s Docker healthcheck connects without a client certificate and will report the container unhealthy.\n');
    }
  }
  if (args.flags['editor-plugin']) await applyEditorPlugin(config, settingsPath, args.options['editor-plugin-from']);
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

/**
 * `--editor-plugin`: the editor folder first (EDITOR_DIR, published once), then the package
 * installed into Node-RED's user dir, then the `nrcert` block in settings.js telling it where to read.
 */
async function applyEditorPlugin(config: Config, settingsPath: string, from: string | undefined): Promise<void> {
  const { editorFolderOf, ensureEditorFolder } = require('../editor/folder') as typeof import('../editor/folder');
  const plugin = require('../nodered/editor-plugin') as typeof import('../nodered/editor-plugin');
  const folder = editorFolderOf(config);
  // A folder nrcert's own user made (the systemd install) is left to it; this user only points Node-RED there.
  const theirs = statSync(folder.dir, { throwIfNoEntry: false });
  if (!theirs || runningAsRoot() || theirs.uid === process.geteuid?.()) {
    ensureEditorFolder(folder);
    await publishForEditor(folder, config, createLogger('warn', { format: config.logFormat }));
  }
  const userDir = dirname(settingsPath);
  const packageDir = pluginDirOf(from);
  await plugin.installPlugin(userDir, packageDir);
  process.stdout.write(`Installed ${plugin.PLUGIN_PACKAGE} from ${packageDir} into ${userDir} (npm, offline).\n`);
  const done = await plugin.applyEditorBlock({ settingsPath, certDir: config.certDir, editorDir: folder.dir });
  process.stdout.write(done.changed
    ? `Backed up ${done.path} to ${done.backupPath}\nWrote the editor block: Node-RED's Certificates sidebar reads ${folder.dir}. Restart Node-RED once to load the package.\n`
    : `${done.path} already points the editor at ${folder.dir}: nothing to change.\n`);
}

/** The package folder `--editor-plugin` installs: --editor-plugin-from, else the one shipped with nrcert. */
function pluginDirOf(from: string | undefined): string {
  return resolve(from ?? (require('../nodered/editor-plugin') as typeof import('../nodered/editor-plugin')).shippedPluginDir());
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

/** --client-certs require|editor|off, or undefined when not given. */
function parseClientCerts(raw: string | undefined): ClientCertMode | 'off' | undefined {
  if (raw === undefined || raw === 'require' || raw === 'editor' || raw === 'off') return raw;
  throw new UsageError(`--client-certs: "${raw}" is not require, editor or off`);
}

/** The block's client-certificate settings for `mode`; a NoClientCaError when there is no CA to use. */
function clientCertSettings(stateDir: string, mode: ClientCertMode | 'off'): ClientCertSettings | undefined {
  if (mode === 'off') return undefined;
  const caFile = clientPath(stateDir, 'caCert');
  if (!existsSync(caFile)) throw new NoClientCaError(`--client-certs ${mode}: there is no client CA in ${dirname(caFile)} yet; run nrcert clients init and nrcert clients add NAME first`);
  return { mode, caFile, crlFile: clientPath(stateDir, 'crl') };
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

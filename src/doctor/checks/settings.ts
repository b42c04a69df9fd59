import { realpath } from 'node:fs/promises';
import { sep } from 'node:path';
import type { Config } from '../../config/config';
import type { InstalledSet } from '../installed';
import type { SettingsProbe } from '../../nodered/settings-probe';
import { fail, ok, skip, warn, type CheckResult } from '../types';
import { ConfigError } from '../../errors';
import { resolveRestartCommand, type RestartEnvironment } from '../../nodered/restart';
import { nrcertCommand } from '../../util/hint';

const ID = 'settings';
const REFRESH = 'settings.refresh';

/**
 * Check 7: Node-RED's settings.js reads exactly the files installed in CERT_DIR: its `https`
 * gives the installed certificate and key, and the PEM files it reads lie inside CERT_DIR (a copy
 * elsewhere serves today's certificate, but never the next one). Then `settings.refresh`: after a
 * renewal, something must make Node-RED read the files again — httpsRefreshInterval with an
 * `https` function, or RESTART_COMMAND.
 */
export async function checkSettingsFiles(
  config: Config | undefined, probe: SettingsProbe, installed: InstalledSet | null, restart: RestartEnvironment = { uid: process.getuid?.() ?? -1 },
): Promise<CheckResult[]> {
  if (!config) return [skip(ID, 'needs a valid configuration (see above)'), skip(REFRESH, 'needs a valid configuration')];
  const main = await judgeFiles(config, probe, installed);
  return [main, main.status === 'ok' ? judgeRefresh(config, probe, restart) : skip(REFRESH, 'not judged until the settings line passes')];
}

async function judgeFiles(config: Config, probe: SettingsProbe, installed: InstalledSet | null): Promise<CheckResult> {
  const apply = `${nrcertCommand('settings')} --apply --settings ${probe.path}`;
  if (!probe.found) {
    return fail(ID, `there is no settings file at ${probe.path}`, 'pass --settings PATH, or set NODE_RED_USER_DIR to Node-RED\'s user directory');
  }
  if (probe.error) return fail(ID, `${probe.path} could not be loaded: ${probe.error}`, `fix the file (node --check ${probe.path} shows syntax errors)`);
  if (probe.https === 'undefined') {
    return fail(ID, `${probe.path} does not set https: Node-RED serves plain HTTP and ignores the certificate`, apply);
  }
  if (probe.httpsError) return fail(ID, `${probe.path}: ${probe.httpsError}`, apply);
  if (!installed?.info) return skip(ID, `settings.js sets https, but no certificate is installed in ${config.certDir} to compare with`, nrcertCommand('renew'));
  const certDir = await realpath(config.certDir).catch(() => config.certDir);
  const outside = probe.pemFiles.filter((f) => f !== certDir && !f.startsWith(certDir + sep));
  if (outside.length > 0) {
    return fail(ID, `settings.js reads ${outside.join(', ')}, outside CERT_DIR ${config.certDir}: renewed certificates would never reach Node-RED`, apply);
  }
  if (probe.certFingerprint256 !== installed.info.fingerprint256) {
    return fail(ID, `settings.js gives Node-RED another certificate (SHA-256 ${short(probe.certFingerprint256)}) than the one installed in ${config.certDir} (${short(installed.info.fingerprint256)})`, apply);
  }
  if (installed.keySpki && probe.keySpki !== installed.keySpki) {
    return fail(ID, `settings.js gives Node-RED another private key than ${config.certDir}/privkey.pem`, apply);
  }
  const how = probe.https === 'function' ? 'its https function' : 'its https object';
  return ok(ID, `${probe.path}: ${how} reads the certificate and key installed in ${config.certDir}`);
}

function judgeRefresh(config: Config, probe: SettingsProbe, restart: RestartEnvironment): CheckResult {
  const refreshHours = probe.https === 'function' ? probe.httpsRefreshInterval : null;
  try {
    resolveRestartCommand(config.restart, restart);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return fail(REFRESH, err.problems.join('; '), `change RESTART_COMMAND as the line above says, then run ${nrcertCommand('doctor')} again`);
  }
  const hook = config.restart ? `RESTART_COMMAND (${config.restart.auto ? 'auto' : config.restart.argv[0]})` : null;
  if (!refreshHours || !(refreshHours > 0)) {
    if (hook) return ok(REFRESH, `${hook} makes Node-RED load each new certificate`);
    const why = probe.https === 'function' ? 'httpsRefreshInterval is not set' : 'https is a fixed object, read once at start';
    return warn(REFRESH, `${why} and RESTART_COMMAND is none: after a renewal Node-RED keeps serving the old certificate until it is restarted`,
      `${nrcertCommand('settings')} --apply --settings ${probe.path} (re-reads the files every minute), or set RESTART_COMMAND`);
  }
  const every = refreshHours * 60 >= 1 ? `${+(refreshHours * 60).toFixed(2)} min` : `${Math.round(refreshHours * 3600)} s`;
  if (!hook && config.nodeRed.url && refreshHours * 3_600_000 > config.nodeRed.verifyTimeoutMs) {
    return warn(REFRESH, `Node-RED re-reads the files every ${every}, longer than NODE_RED_VERIFY_TIMEOUT (${config.nodeRed.verifyTimeoutMs / 1000} s): ` +
      'each renewal would be rolled back before Node-RED picks it up',
    `${nrcertCommand('settings')} --apply --settings ${probe.path} (every minute), or raise NODE_RED_VERIFY_TIMEOUT`);
  }
  return ok(REFRESH, `Node-RED re-reads the files every ${every}${hook ? `, and ${hook} runs after each renewal` : ': no restart needed'}`);
}

function short(fingerprint?: string): string {
  return fingerprint ? `${fingerprint.slice(0, 23)}…` : 'none';
}

/**
 * The last step of `nrcert init`: Node-RED must be seen serving the installed certificate (a TLS
 * handshake and its fingerprint, nodered/verify.ts). When settings.js changed, or Node-RED still
 * serves something else, it is restarted once with RESTART_COMMAND; with none, the exact command
 * to run is printed and init waits (Enter on a terminal, then a wait bounded by
 * NODE_RED_VERIFY_TIMEOUT). Every way it can end without that is a sentence and an exit code.
 */
import { realpathSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, delimiter, join } from 'node:path';
import type { Config } from '../config/config';
import { ConfigError, ExitCode, HookError } from '../errors';
import type { Logger } from '../log';
import { runRestartHook } from '../nodered/hook';
import { resolveRestartCommand } from '../nodered/restart';
import { servedFingerprint, waitUntilServed } from '../nodered/verify';
import { readInstalledCertificate } from '../store/pem';
import { findNodeRedUnit, type Machine } from './detect';
import type { Prompter } from './prompt';
import { nrcertCommand } from '../util/hint';

/** What the step needs. */
export interface ServeStepDeps {
  config: Config;
  /** settings.js was changed by this run: Node-RED must restart to read it. */
  settingsChanged: boolean;
  interactive: boolean;
  machine: Machine;
  prompter: Prompter;
  say: (line: string) => void;
  logger: Logger;
  signal: AbortSignal;
  uid: number;
}

/** Makes sure Node-RED serves the installed certificate; resolves the exit code (0 when it does). */
export async function ensureServed(d: ServeStepDeps): Promise<number> {
  const { config, say } = d;
  const url = config.nodeRed.url;
  if (!url) {
    say('NODE_RED_URL is not set: nrcert cannot check that Node-RED serves the certificate (set it in .env, e.g. https://127.0.0.1:1880).');
    return ExitCode.ok;
  }
  const installed = await readInstalledCertificate(config.certDir);
  if (!installed) return ExitCode.install; // renew just succeeded: cannot happen unless CERT_DIR was emptied meanwhile
  const fingerprint256 = installed.info.fingerprint256;
  const now = await servedFingerprint(url, config.nodeRed.servername, 3000).catch(() => undefined);
  if (now === fingerprint256 && !d.settingsChanged) return served(d, url);
  let argv: string[] | undefined;
  try {
    argv = resolveRestartCommand(config.restart, { uid: d.uid, unitDirs: d.machine.unitDirs });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    say(`Not done: Node-RED must restart to serve the certificate, and ${err.problems.join('; ')}.`);
    return err.exitCode;
  }
  if (argv) {
    say(`Restarting Node-RED once so that it ${d.settingsChanged ? 'reads the changed settings.js' : 'serves the new certificate'}: ${argv.join(' ')}`);
    try {
      await runRestartHook(argv, config.restart!.timeoutMs, { certDir: config.certDir, names: installed.info.names, lineage: lineageId(config.certDir) }, d.logger, d.signal);
    } catch (err) {
      if (!(err instanceof HookError)) throw err;
      say(`Not done: ${err.message}. Restart Node-RED yourself, then run ${nrcertCommand('init')} again.`);
      return err.exitCode;
    }
  } else if (d.settingsChanged || now === undefined) {
    say(`Restart Node-RED now so that it reads the changed settings.js: ${restartHint(d.machine, d.uid)}`);
    if (d.interactive) await d.prompter.ask('Press Enter once Node-RED is restarted (nrcert then checks that it serves the certificate): ');
  } else {
    say('Node-RED re-reads the certificate files by itself (httpsRefreshInterval): waiting for it…');
  }
  const seconds = Math.round(config.nodeRed.verifyTimeoutMs / 1000);
  say(`Checking that Node-RED at ${url} serves the new certificate (waiting up to ${seconds} s, NODE_RED_VERIFY_TIMEOUT)…`);
  try {
    await waitUntilServed({ url, servername: config.nodeRed.servername, fingerprint256, timeoutMs: config.nodeRed.verifyTimeoutMs, logger: d.logger, signal: d.signal });
  } catch (err) {
    if (!(err instanceof HookError)) throw err;
    say(`Not done: ${err.message}. Is Node-RED running, on that address? Its log says why it does not serve the certificate; then run ${nrcertCommand('init')} again.`);
    return ExitCode.notServed;
  }
  return served(d, url);
}

/** The id of the lineage CERT_DIR/current points at (what the hook is told as NRCERT_LINEAGE). */
function lineageId(certDir: string): string {
  try {
    return basename(realpathSync(join(certDir, 'current')));
  } catch {
    return 'current';
  }
}

function served(d: ServeStepDeps, url: string): number {
  d.say(`Node-RED serves the new certificate at ${url} (checked by a TLS handshake).`);
  return ExitCode.ok;
}

/**
 * The command that restarts Node-RED here: the Pi installer's node-red-restart, its systemd unit,
 * the Docker container (a container's hostname is its id), else what to do by hand.
 */
export function restartHint(m: Machine, uid: number): string {
  const onPath = (m.env.PATH ?? '').split(delimiter).some((dir) => dir && m.exists(join(dir, 'node-red-restart')));
  if (onPath) return 'node-red-restart';
  if (findNodeRedUnit(m)) return `${uid === 0 ? '' : 'sudo '}systemctl restart nodered`;
  if (m.exists('/.dockerenv')) return `docker restart ${hostname()}   (on the Docker host)`;
  return 'stop Node-RED (Ctrl-C where it runs) and start it again (node-red)';
}

import { configSources, type ParsedArgs } from './args';
import { loadConfig, type Config } from '../config/config';
import { ConfigError } from '../errors';
import { createLogger, type Logger } from '../log';
import { readState, writeState } from '../store/state';
import { defaultSchedule, RenewalScheduler } from '../service/scheduler';
import { statePath } from '../store/state-dir';
import { acquireLock } from '../store/lock';
import { ensureStateDir } from '../store/state';
import { startRenewalChild } from '../service/renewal-child';
import { serveEditorFolder } from '../editor/serve';
import { collectGarbageOnce } from './resident';

/** How long a renewal stopped by SIGTERM may take to remove its TXT records before it is killed. */
const STOP_GRACE_MS = 60_000;

/**
 * `nrcert run`: the service. Loads the configuration (all problems at once, before anything),
 * takes STATE_DIR/service.lock (one service per STATE_DIR: a second one refuses, exit 4),
 * schedules `nrcert renew --scheduled` in child processes, and on SIGTERM/SIGINT stops the
 * schedule, lets a running renewal clean up within a bound, and exits 0.
 */
export async function runCommand(args: ParsedArgs): Promise<number> {
  const sources = configSources(args);
  const config = loadConfig(sources, 'renew');
  const logger = createLogger(config.logLevel, { format: config.logFormat });
  for (const warning of config.warnings) logger.warn(warning);
  const stopped = firstStopSignal(logger); // from here on: a stop while starting is a clean stop
  ensureStateDir(config.stateDir);
  const release = await acquireLock(statePath(config.stateDir, 'serviceLock'), {
    command: 'run',
    whenHeld: 'only one `nrcert run` may use a STATE_DIR: stop that one first (e.g. systemctl stop nrcert), or give this one its own STATE_DIR',
  });
  try {
    if (release.recoveredStale) logger.info('took over the service lock of an earlier service that is gone');
    const schedule = await scheduleFor(config);
    let fleet: { isIssuer: boolean; start(): void; stop(): Promise<void>; checkFinished(code: number | null): void } | undefined;
    const scheduler = new RenewalScheduler({
      schedule,
      startDelayMs: config.service.startDelayMs,
      logger,
      startRenewal: (args) => startRenewalChild(config, args ?? ['--scheduled']),
      skip: () => (fleet && !fleet.isIssuer ? 'another host of the fleet is its issuer' : undefined),
      onFinished: (code) => fleet?.checkFinished(code),
    });
    // Only with FLEET_* set is the fleet's code loaded (cli/fleet.ts).
    if (config.fleet) fleet = await (require('./fleet') as typeof import('./fleet')).fleetAgent(config, logger, () => scheduler.tick('elected'));
    fleet?.start();
    scheduler.start();
    // The Node-RED editor's folder, once in use: status at start, then its requests.
    const editor = serveEditorFolder(config, scheduler, logger);
    collectGarbageOnce();
    const signal = await stopped;
    logger.info({ signal }, 'stopping');
    await scheduler.stop(STOP_GRACE_MS);
    await editor.stop();
    await fleet?.stop();
    logger.info('stopped');
    return 0;
  } finally {
    await release();
  }
}

/**
 * Resolves on the first SIGTERM or SIGINT. Later ones (systemd, a second `kill`, Ctrl-C again)
 * are logged and otherwise ignored: the service still waits for its renewal to clean up, which
 * the scheduler bounds (and the unit's TimeoutStopSec bounds the whole stop).
 */
function firstStopSignal(logger: Logger): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let first: NodeJS.Signals | undefined;
    const onSignal = (signal: NodeJS.Signals) => {
      if (first) {
        logger.info({ signal }, 'already stopping; waiting for the running renewal to clean up');
        return;
      }
      first = signal;
      resolve(signal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

/** RENEW_SCHEDULE validated, or the default slot (chosen at random once, kept in STATE_DIR). */
async function scheduleFor(config: Config): Promise<string> {
  if (config.service.schedule) {
    const cron = require('node-cron') as typeof import('node-cron');
    if (!cron.validate(config.service.schedule)) {
      throw new ConfigError([`RENEW_SCHEDULE: "${config.service.schedule}" is not a cron expression (e.g. "17 3,15 * * *")`]);
    }
    return config.service.schedule;
  }
  const path = statePath(config.stateDir, 'service');
  const saved = await readState<{ slot?: { minute: number; hour: number } }>(path, {});
  const slot = saved.slot ?? { minute: Math.floor(Math.random() * 60), hour: Math.floor(Math.random() * 12) };
  if (!saved.slot) await writeState(path, { ...saved, slot });
  return defaultSchedule(slot);
}

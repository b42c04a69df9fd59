import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { configSources, type ParsedArgs } from './args';
import { loadConfig, type Config } from '../config/config';
import { ConfigError } from '../errors';
import { createLogger } from '../log';
import { readState, writeState } from '../store/state';
import { defaultSchedule, RenewalScheduler, type RunningRenewal } from '../service/scheduler';
import { statePath } from '../store/state-dir';

/** How long a renewal stopped by SIGTERM may take to remove its TXT records before it is killed. */
const STOP_GRACE_MS = 60_000;

/**
 * `nrcert run`: the service. Loads the configuration (all problems at once, before anything),
 * schedules `nrcert renew --scheduled` in child processes, and on SIGTERM/SIGINT stops the
 * schedule, lets a running renewal clean up within a bound, and exits 0.
 */
export async function runCommand(args: ParsedArgs): Promise<number> {
  const sources = configSources(args);
  const config = loadConfig(sources, 'renew');
  const logger = createLogger(config.logLevel);
  for (const warning of config.warnings) logger.warn(warning);
  await mkdir(config.stateDir, { recursive: true, mode: 0o700 });
  const schedule = await scheduleFor(config);
  const scheduler = new RenewalScheduler({
    schedule,
    startDelayMs: config.service.startDelayMs,
    logger,
    startRenewal: () => startRenewalChild(config),
  });
  scheduler.start();
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  logger.info({ signal }, 'stopping');
  await scheduler.stop(STOP_GRACE_MS);
  logger.info('stopped');
  return 0;
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

/** Starts `nrcert renew --scheduled` with the same settings, its output going to ours. */
function startRenewalChild(config: Config): RunningRenewal {
  const cli = join(__dirname, 'index.js');
  const envFile = config.envFile ? ['--env-file', config.envFile] : [];
  const child = spawn(process.execPath, ['--', cli, 'renew', '--scheduled', ...envFile], { stdio: ['ignore', 'inherit', 'inherit'], env: process.env });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', () => resolve({ code: null, signal: null }));
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return { child, done };
}

/**
 * `nrcert editor init|process`: the Node-RED editor's folder (EDITOR_DIR, src/editor/).
 * `init` creates it and publishes everything once; `process` handles the requests waiting in its
 * spool and returns when they are done: what the timer variant's `nrcert-editor.path` unit starts
 * (the service, `nrcert run`, watches the spool itself).
 */
import { configSources, type ParsedArgs } from './args';
import { loadConfig, type Config } from '../config/config';
import { describeError, ExitCode, LockedError, UsageError } from '../errors';
import { createLogger, type Logger } from '../log';
import { editorFolder, editorFolderOf, ensureEditorFolder, type EditorFolder } from '../editor/folder';
import { acquireLock } from '../store/lock';
import { ensureStateDir } from '../store/state';
import { statePath } from '../store/state-dir';
import { startRenewalChild } from '../service/renewal-child';
import type { RunningRenewal } from '../service/scheduler';
import { publishDoctorChecks, publishForEditor } from './editor-publish';
import { sleep } from '../util/sleep';

/** While a renewal runs, the spool is looked at this often (a second request is refused at once). */
const POLL_MS = 500;

/** Looks at the spool at most this many times after the last renewal (the .path unit starts it again for later ones). */
const MAX_ROUNDS = 10;

/** Dispatches `nrcert editor SUBCOMMAND`. */
export async function editorCommand(args: ParsedArgs): Promise<number> {
  const [sub, ...extra] = args.positionals;
  if (extra.length > 0) throw new UsageError(`nrcert editor ${sub}: unexpected "${extra[0]}"`);
  const config = loadConfig(configSources(args), 'status');
  const logger = createLogger(config.logLevel, { format: config.logFormat });
  switch (sub) {
    case 'init': {
      const folder = editorFolderOf(config);
      ensureEditorFolder(folder);
      await publishForEditor(folder, config, logger);
      await publishDoctorChecks(folder, configSources(args), logger);
      process.stdout.write(`The editor folder ${folder.dir} is ready: Node-RED reads it and writes requests into ${folder.dir}/requests.\n`);
      return 0;
    }
    case 'process': {
      const folder = editorFolder(config);
      if (!folder) {
        process.stdout.write(`There is no editor folder (${config.editor.dir} does not exist and EDITOR_DIR is not set); nothing to do.\n`);
        return 0;
      }
      return processSpool(config, folder, logger);
    }
    default:
      throw new UsageError('usage: nrcert editor init | process');
  }
}

/** Handles every request in the spool, the renewal in a child, and returns when all are done. */
async function processSpool(config: Config, folder: EditorFolder, logger: Logger): Promise<number> {
  const { SpoolProcessor } = require('../editor/processor') as typeof import('../editor/processor');
  const { EDITOR_RENEW_ARGS, realActions } = require('../editor/actions') as typeof import('../editor/actions');
  const { pendingNames } = require('../editor/spool') as typeof import('../editor/spool');
  ensureStateDir(config.stateDir);
  let release: () => Promise<void>;
  try {
    release = await acquireLock(statePath(config.stateDir, 'editorLock'), { command: 'editor process' });
  } catch (err) {
    if (!(err instanceof LockedError)) throw err;
    process.stdout.write('The editor\'s requests are being handled by another nrcert (the service, or another `nrcert editor process`); nothing to do.\n');
    return 0;
  }
  try {
    // Requests are taken even when the folder cannot be set right: one left in the spool would
    // make nrcert-editor.path start this again and again until systemd gives up on it.
    try {
      ensureEditorFolder(folder);
    } catch (err) {
      logger.warn(`EDITOR_DIR: ${describeError(err)}`);
    }
    let running: RunningRenewal | undefined;
    const start = () => {
      const child = startRenewalChild(config, EDITOR_RENEW_ARGS);
      running = child;
      void child.done.then(() => { running = undefined; });
      return child;
    };
    const processor = new SpoolProcessor({
      folder, stateDir: config.stateDir, renewIntervalMs: config.editor.renewIntervalMs, actions: realActions(config, folder, start, () => running !== undefined), logger,
    });
    // A stop (systemctl stop: KillMode=mixed signals only this process) is passed on to the
    // renewal child, which removes its TXT records and releases its lock; no new request is taken.
    let stopping = false;
    const onStop = () => {
      if (stopping) return;
      stopping = true;
      logger.info('stopping: asking the running renewal to clean up');
      running?.child.kill('SIGTERM');
    };
    process.on('SIGTERM', onStop);
    process.on('SIGINT', onStop);
    try {
      // Requests that land while it works are taken too; bounded, so a flood cannot keep it alive.
      for (let round = 0; round < MAX_ROUNDS && !stopping; round++) {
        await processor.scan();
        while (processor.renewing) {
          await Promise.race([processor.idle(), sleep(POLL_MS)]);
          if (!stopping) await processor.scan();
        }
        if (!pendingNames(folder).some((n) => n.endsWith('.json'))) break;
      }
      return stopping ? ExitCode.interrupted : 0;
    } finally {
      process.off('SIGTERM', onStop);
      process.off('SIGINT', onStop);
    }
  } finally {
    await release();
  }
}

/**
 * The editor's part of `nrcert run`: at start, the editor folder is prepared and status.json
 * published; then the spool is watched and its requests handled, the renewals through the
 * service's own scheduler (so a scheduled and a requested renewal never overlap).
 */
import type { Config } from '../config/config';
import { describeError } from '../errors';
import type { Logger } from '../log';
import type { RenewalScheduler } from '../service/scheduler';
import { acquireLock } from '../store/lock';
import { statePath } from '../store/state-dir';
import { EDITOR_RENEW_ARGS, realActions } from './actions';
import { ensureEditorFolder, type EditorFolder } from './folder';
import { SpoolProcessor } from './processor';
import { publishClients, publishStatus } from './publish';
import { watchSpool, type SpoolWatch } from './watch';

/** Starts serving the editor folder; null (logged) when it cannot be prepared. */
export async function startEditorService(config: Config, folder: EditorFolder, scheduler: RenewalScheduler, logger: Logger): Promise<SpoolWatch | null> {
  try {
    ensureEditorFolder(folder);
    await publishStatus(folder, config);
    publishClients(folder, config.stateDir);
  } catch (err) {
    logger.warn(`EDITOR_DIR: cannot prepare ${folder.dir} for the editor (${describeError(err)}); the service goes on without it`);
    return null;
  }
  let release: () => Promise<void>;
  try {
    release = await acquireLock(statePath(config.stateDir, 'editorLock'), { command: 'run (editor spool)' });
  } catch (err) {
    logger.warn(`EDITOR_DIR: the spool is processed elsewhere (${describeError(err)}); this service does not watch it`);
    return null;
  }
  const processor = new SpoolProcessor({
    folder,
    stateDir: config.stateDir,
    renewIntervalMs: config.editor.renewIntervalMs,
    actions: realActions(config, folder, () => scheduler.runNow(EDITOR_RENEW_ARGS), () => scheduler.busy),
    logger,
  });
  const watch = watchSpool(folder, processor, logger);
  logger.info({ editorDir: folder.dir }, 'watching the editor\'s requests');
  return {
    async stop() {
      await watch.stop();
      await release();
    },
  };
}

/**
 * The service's first contact with the Node-RED editor: serves the editor folder as soon as it is
 * in use, at once when it is, else from the first look (every RESCAN_MS) that finds the default
 * CERT_DIR/editor created meanwhile (by `nrcert settings --apply --editor-plugin` while the
 * service runs). Until then it costs one stat per look, and the spool code (service.ts) is not
 * even loaded.
 */
import type { Config } from '../config/config';
import { describeError } from '../errors';
import type { Logger } from '../log';
import type { RenewalScheduler } from '../service/scheduler';
import { editorFolder } from './folder';

/** How often the service looks for an editor folder that is not there yet (watch.ts RESCAN_MS). */
export const LOOK_MS = 10_000;

/** What the service stops on its way out. */
export interface EditorServing {
  stop(): Promise<void>;
}

/** Serves `config`'s editor folder once it is in use; stop() ends the looking and the serving. */
export function serveEditorFolder(config: Config, scheduler: RenewalScheduler, logger: Logger, lookMs = LOOK_MS): EditorServing {
  let serving: Promise<EditorServing | null> | undefined;
  let stopped = false;
  // Looks until the folder is served; a start that came to nothing (the folder not usable yet,
  // its lock held) is looked at again at the next interval instead of never.
  const look = () => {
    if (serving || stopped) return;
    try {
      const folder = editorFolder(config);
      if (!folder) return;
      const attempt = (require('./service') as typeof import('./service')).startEditorService(config, folder, scheduler, logger)
        .catch((err: unknown) => {
          logger.warn(`EDITOR_DIR: could not serve ${config.editor.dir} (${describeError(err)}); trying again`);
          return null;
        });
      serving = attempt;
      void attempt.then((s) => { if (!s && serving === attempt) serving = undefined; });
    } catch (err) {
      logger.debug(`EDITOR_DIR: cannot look at ${config.editor.dir} (${describeError(err)})`);
    }
  };
  look();
  const timer = setInterval(look, lookMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await (await serving)?.stop();
    },
  };
}

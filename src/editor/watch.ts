/**
 * How the running service (`nrcert run`) notices requests: fs.watch on the spool (inotify: a
 * request is taken within milliseconds) plus a re-scan every RESCAN_MS, for file systems that
 * send no events (a Docker volume, NFS) and for a watch that broke. Neither holds the event loop
 * open on its own (unref), and stop() ends both.
 */
import { watch, type FSWatcher } from 'node:fs';
import type { Logger } from '../log';
import { requestsDir, type EditorFolder } from './folder';
import type { SpoolProcessor } from './processor';

/** The bounded periodic re-scan. */
export const RESCAN_MS = 10_000;

/** Events within this time are one scan. */
const DEBOUNCE_MS = 50;

/** A running watch of one spool. */
export interface SpoolWatch {
  stop(): Promise<void>;
}

/** Watches `folder`'s spool and runs `processor.scan()` on every change and every RESCAN_MS; scans once at once. */
export function watchSpool(folder: EditorFolder, processor: SpoolProcessor, logger: Logger, rescanMs = RESCAN_MS): SpoolWatch {
  let watcher: FSWatcher | undefined;
  let debounce: NodeJS.Timeout | undefined;
  let stopped = false;
  const scan = () => {
    if (stopped) return;
    clearTimeout(debounce);
    debounce = setTimeout(() => void processor.scan(), DEBOUNCE_MS);
  };
  const arm = () => {
    if (watcher || stopped) return;
    try {
      watcher = watch(requestsDir(folder), { persistent: false }, scan);
      watcher.on('error', (err) => {
        logger.warn(`EDITOR_DIR: the watch on ${requestsDir(folder)} stopped (${err.message}); looking every ${rescanMs / 1000} s instead`);
        watcher?.close();
        watcher = undefined;
      });
    } catch (err) {
      logger.warn(`EDITOR_DIR: cannot watch ${requestsDir(folder)} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); looking every ${rescanMs / 1000} s instead`);
    }
  };
  arm();
  const timer = setInterval(() => {
    arm();
    void processor.scan();
  }, rescanMs);
  timer.unref();
  void processor.scan();
  return {
    async stop() {
      stopped = true;
      clearTimeout(debounce);
      clearInterval(timer);
      watcher?.close();
      await processor.idle();
    },
  };
}

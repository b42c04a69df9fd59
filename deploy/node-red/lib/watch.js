/**
 * Watches EDITOR_DIR for nrcert's published files: fs.watch on the folder (nrcert replaces files
 * by rename, so a watch on the file itself would stop at the first update) plus a re-check every
 * POLL_MS, because fs.watch misses changes on some file systems (network mounts, Docker volumes).
 */
'use strict';
const fs = require('node:fs');

/** How often the folder is checked even when fs.watch says nothing. */
const POLL_MS = 5000;
/** Changes closer together than this are read once. */
const SETTLE_MS = 100;

/**
 * Calls `onChange()` soon after anything in `dir` changes, and every `pollMs`; returns a
 * function that stops watching. A missing folder is polled until it appears.
 */
function watchEditorDir(dir, onChange, pollMs = POLL_MS) {
  let watcher = null;
  let timer = null;
  let stopped = false;
  const fire = () => {
    if (stopped || timer) return;
    timer = setTimeout(() => {
      timer = null;
      if (!stopped) onChange();
    }, SETTLE_MS);
  };
  const startWatcher = () => {
    if (watcher || stopped) return;
    try {
      watcher = fs.watch(dir, { persistent: false }, fire);
      watcher.on('error', () => {
        closeWatcher();
      });
    } catch {
      watcher = null; // not there yet: the poll retries
    }
  };
  const closeWatcher = () => {
    if (watcher) watcher.close();
    watcher = null;
  };
  startWatcher();
  const poll = setInterval(() => {
    startWatcher();
    fire();
  }, pollMs);
  poll.unref();
  return () => {
    stopped = true;
    clearInterval(poll);
    if (timer) clearTimeout(timer);
    closeWatcher();
  };
}

module.exports = { watchEditorDir, POLL_MS };

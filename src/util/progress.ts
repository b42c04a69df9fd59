/**
 * A one-line progress display for long waits (DNS propagation, ACME validation). On a terminal
 * the line is rewritten in place ("waiting for …  12 s / 120 s"); anywhere else (systemd's
 * journal, a pipe) it prints nothing, so logs stay one line per step.
 */
export interface Progress {
  /** Shows `text` as the current state of the wait. */
  update(text: string): void;
  /** Clears the line when the wait is over. */
  done(): void;
}

/** A Progress that does nothing (not a terminal, or no progress wanted). */
export const NO_PROGRESS: Progress = { update() {}, done() {} };

/** A Progress on `stream` when it is a terminal, otherwise NO_PROGRESS. */
export function terminalProgress(stream: NodeJS.WriteStream): Progress {
  if (!stream.isTTY) return NO_PROGRESS;
  let shown = false;
  return {
    update(text: string) {
      const width = Math.max(20, (stream.columns || 80) - 1);
      stream.write(`\r\x1b[2K${text.slice(0, width)}`);
      shown = true;
    },
    done() {
      if (shown) stream.write('\r\x1b[2K');
      shown = false;
    },
  };
}

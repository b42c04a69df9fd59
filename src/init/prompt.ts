/**
 * Asking questions on the terminal. On a TTY every answer is read in its own readline (line
 * editing, Ctrl-C reported), and a secret is read in raw mode without echo. When stdin is not a
 * TTY (a script, a pipe), answers are read one line each, and a secret is read the same way.
 * Ctrl-C (in raw mode it is a byte, not a signal) calls `onInterrupt`; an aborted `signal`
 * rejects the pending question with AbortedError and restores the terminal.
 */
import { createInterface, type Interface } from 'node:readline';
import { AbortedError } from '../errors';

/** Asks one question at a time; null means the input ended (Ctrl-D, end of a script). */
export interface Prompter {
  ask(question: string): Promise<string | null>;
  /** Reads without showing what is typed. */
  askSecret(question: string): Promise<string | null>;
  /** Stops reading stdin so the process can exit. */
  close(): void;
}

/** Where questions are asked and answered, and what to do on Ctrl-C. */
export interface PrompterOptions {
  input: NodeJS.ReadStream;
  output: NodeJS.WritableStream;
  signal: AbortSignal;
  onInterrupt: () => void;
}

/** A Prompter over a TTY or over lines of a script, whichever `input` is. */
export function streamPrompter(opts: PrompterOptions): Prompter {
  return opts.input.isTTY ? ttyPrompter(opts) : linePrompter(opts);
}

/** Runs `start` until it settles or `signal` aborts (then `stop` cleans up and it rejects). */
function abortable<T>(signal: AbortSignal, start: (settle: (value: T) => void) => () => void): Promise<T> {
  if (signal.aborted) return Promise.reject(new AbortedError());
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let stop: (() => void) | undefined;
    const finish = () => {
      signal.removeEventListener('abort', onAbort);
      stop?.();
    };
    const onAbort = () => {
      if (settled) return;
      settled = true;
      finish();
      reject(new AbortedError());
    };
    signal.addEventListener('abort', onAbort, { once: true });
    stop = start((value) => {
      if (settled) return;
      settled = true;
      finish();
      resolve(value);
    });
    if (settled) stop(); // it settled before start() returned its cleanup
  });
}

function ttyPrompter(opts: PrompterOptions): Prompter {
  const { input, output, signal } = opts;
  return {
    ask: (question) => abortable<string | null>(signal, (settle) => {
      const rl = createInterface({ input, output, terminal: true });
      let answered = false;
      rl.on('SIGINT', () => opts.onInterrupt());
      rl.on('close', () => {
        if (!answered) settle(null);
      });
      rl.question(question, (answer) => {
        answered = true;
        settle(answer.trim());
      });
      return () => {
        answered = true;
        rl.close();
      };
    }),
    askSecret: (question) => abortable<string | null>(signal, (settle) => {
      let typed = '';
      const onData = (chunk: Buffer) => {
        const text = chunk.toString('utf8');
        if (text.startsWith('\x1b')) return; // arrow keys and other escape sequences
        for (const c of text) {
          if (c === '\r' || c === '\n') return settle(typed.trim());
          if (c === '\x03') return opts.onInterrupt();
          if (c === '\x04' && typed === '') return settle(null);
          if (c === '\x7f' || c === '\b') typed = [...typed].slice(0, -1).join('');
          else if (c === '\x15') typed = '';
          else if (c >= ' ') typed += c;
        }
      };
      input.setRawMode(true);
      output.write(question); // only now: typed-ahead characters would have been echoed before raw mode
      input.on('data', onData);
      input.resume();
      return () => {
        input.off('data', onData);
        input.setRawMode(false);
        input.pause();
        output.write('\n');
      };
    }),
    close: () => input.pause(),
  };
}

function linePrompter(opts: PrompterOptions): Prompter {
  const { input, output, signal } = opts;
  let rl: Interface | undefined;
  const lines: string[] = [];
  let ended = false;
  let waiting: (() => void) | undefined;
  const reader = () => {
    if (!rl) {
      rl = createInterface({ input, terminal: false });
      rl.on('line', (line) => {
        lines.push(line);
        waiting?.();
      });
      rl.on('close', () => {
        ended = true;
        waiting?.();
      });
    }
  };
  const ask = (question: string) => abortable<string | null>(signal, (settle) => {
    output.write(question);
    reader();
    const take = () => {
      if (lines.length > 0) settle(lines.shift()!.trim());
      else if (ended) settle(null);
    };
    waiting = take;
    take();
    return () => {
      waiting = undefined;
      output.write('\n');
    };
  });
  return {
    ask,
    askSecret: ask,
    close: () => {
      rl?.close();
      input.destroy();
    },
  };
}

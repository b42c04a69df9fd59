import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogFormat } from './config/config';
import { isJournalStream, withPriority } from './util/journal';

export type { Logger } from 'pino';

/**
 * Paths pino blanks out whatever a caller passes: a second guard behind the rule that secrets
 * never reach a log call at all (see Secret).
 */
const REDACT = [
  'token', 'apiToken', 'authorization', 'privkey', 'privateKey', 'key', 'hmacKey', 'password',
  '*.token', '*.apiToken', '*.authorization', '*.privkey', '*.privateKey', '*.key', '*.hmacKey',
  'headers.authorization', '*.headers.authorization', '*.*.headers.authorization', 'headers.Authorization',
  '*.headers.Authorization', '*.*.token', '*.*.apiToken', '*.*.privkey', '*.*.privateKey',
];

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** sd-daemon priorities of pino's levels: debug for trace/debug, info, warning, err for error/fatal. */
const PRIORITIES: Record<number, number> = { 10: 7, 20: 7, 30: 6, 40: 4, 50: 3, 60: 3 };

/** How a line is laid out: `clock` on a terminal, `journal` priority prefixes for journald (which stamps lines itself). */
interface Layout {
  clock: boolean;
  journal: boolean;
}

/**
 * One short line per event for people (`12:00:01 INFO  message key=value` at a terminal,
 * `<6>INFO  message key=value` in the journal), without loading pino-pretty or a worker
 * thread: the Pi pays for every module. pino has redacted the record before it gets here.
 */
function humanStream(sink: DestinationStream, layout: Layout): DestinationStream {
  return {
    write(line: string) {
      const { level, time, msg, pid: _pid, hostname: _host, ...rest } = JSON.parse(line) as Record<string, unknown>;
      const extras = Object.entries(rest)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      const clock = layout.clock ? `${hhmmss(new Date(time as number))} ` : '';
      const text = `${clock}${(LEVEL_NAMES[level as number] ?? level).toString().padEnd(5)} ${msg ?? ''}${extras ? `  ${extras}` : ''}\n`;
      sink.write(layout.journal ? withPriority(PRIORITIES[level as number] ?? 6, text) : text);
    },
  };
}

/**
 * `12:00:01`, local time, from Date's getters: toTimeString would read ICU's zone names, which a
 * service at a terminal otherwise never needs (util/iso-time.ts).
 */
function hhmmss(date: Date): string {
  return [date.getHours(), date.getMinutes(), date.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

/** pino's JSON lines as they are, each with its priority prefix (journald strips it, MESSAGE stays JSON). */
function journalJsonStream(sink: DestinationStream): DestinationStream {
  return {
    write(line: string) {
      const { level } = JSON.parse(line) as { level: number };
      sink.write(`<${PRIORITIES[level] ?? 6}>${line}`);
    },
  };
}

/** Where and how createLogger writes. */
export interface LoggerOptions {
  /** LOG_FORMAT: `auto` (default), `json` or `human`. */
  format?: LogFormat;
  /** The stream (default stderr). */
  out?: NodeJS.WriteStream;
  /** Whether `out` is the systemd journal (default: JOURNAL_STREAM names it). */
  journal?: boolean;
}

/**
 * Creates the process logger, always to stderr. `auto`: priority-prefixed human lines under the
 * journal, short lines on a TTY, JSON lines otherwise; `json` always JSON (prefixed under the
 * journal); `human` always short lines. Redaction is pino's, so it holds in every format.
 */
export function createLogger(level: string, opts: LoggerOptions = {}): Logger {
  const out = opts.out ?? process.stderr;
  const fd = (out as { fd?: number }).fd;
  const journal = opts.journal ?? isJournalStream(fd);
  const format = opts.format ?? 'auto';
  const options = {
    level,
    base: undefined,
    redact: { paths: REDACT, censor: '[redacted]' },
  };
  const sink: DestinationStream = out.isTTY ? out : pino.destination({ fd: fd ?? 2, sync: true });
  const human = format === 'human' || (format === 'auto' && (journal || Boolean(out.isTTY)));
  if (human) return pino(options, humanStream(sink, { clock: !journal, journal }));
  return pino(options, journal ? journalJsonStream(sink) : sink);
}

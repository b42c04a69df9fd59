import pino, { type DestinationStream, type Logger } from 'pino';

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

/**
 * One short line per event for people at a terminal (`12:00:01 INFO  message key=value`),
 * without loading pino-pretty or a worker thread: the Pi pays for every module.
 */
function humanStream(out: NodeJS.WritableStream): DestinationStream {
  return {
    write(line: string) {
      const { level, time, msg, pid: _pid, hostname: _host, ...rest } = JSON.parse(line) as Record<string, unknown>;
      const clock = new Date(time as number).toTimeString().slice(0, 8);
      const extras = Object.entries(rest)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      out.write(`${clock} ${(LEVEL_NAMES[level as number] ?? level).toString().padEnd(5)} ${msg ?? ''}${extras ? `  ${extras}` : ''}\n`);
    },
  };
}

/** Creates the process logger: JSON lines for machines, short lines on a TTY; always to stderr. */
export function createLogger(level: string, out: NodeJS.WriteStream = process.stderr): Logger {
  const options = {
    level,
    base: undefined,
    redact: { paths: REDACT, censor: '[redacted]' },
  };
  return out.isTTY ? pino(options, humanStream(out)) : pino(options, pino.destination({ fd: (out as { fd?: number }).fd ?? 2, sync: true }));
}

/**
 * Is our output going to the systemd journal? systemd sets JOURNAL_STREAM to `DEV:INODE` of the
 * stream it connects to stdout/stderr (systemd.exec(5), "Environment variables in spawned
 * processes"); a program compares it with its own descriptor, because the variable is inherited
 * by children whose stderr someone redirected elsewhere. journald reads an sd-daemon prefix
 * (`<3>` err … `<7>` debug, sd-daemon(3)) at the start of every line as that line's priority.
 * Small on purpose: the entry point uses it without loading the logger.
 */
import { fstatSync } from 'node:fs';

/** True when `fd` is the stream JOURNAL_STREAM names (`value`, default: the environment's). */
export function isJournalStream(fd: number | undefined, value: string | undefined = process.env.JOURNAL_STREAM): boolean {
  if (!value || fd === undefined) return false;
  const [dev, ino] = value.split(':');
  try {
    const st = fstatSync(fd, { bigint: true });
    return String(st.dev) === dev && String(st.ino) === ino;
  } catch {
    return false;
  }
}

/** `text` with the sd-daemon prefix `<priority>` at the start of every line (journald splits at newlines). */
export function withPriority(priority: number, text: string): string {
  const lines = text.split('\n');
  return lines.map((line, i) => (i === lines.length - 1 && line === '' ? line : `<${priority}>${line}`)).join('\n');
}

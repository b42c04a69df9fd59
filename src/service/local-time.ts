/**
 * node-cron without ICU. node-cron 4 reads the calendar fields of every date it matches through
 * `Intl.DateTimeFormat('en-US', …).formatToParts()`, even when no time zone is asked for. The
 * first such formatter makes V8 load ICU's locale, calendar and pattern data out of the node
 * binary: ≈ 7 MB of resident memory in a process that otherwise only waits (measured with
 * bench/cli.bench.ts: 56 → 49 MB VmRSS on Node 20). Without a time zone node-cron wants the
 * machine's local time, which `Date`'s own getters give without ICU's formatters.
 *
 * node-cron creates its two formatters once (one for the fields, one for the UTC offset) and
 * caches them for good, on the first date it computes — inside `cron.schedule()`. So
 * `withLocalTimeFormat` swaps `Intl.DateTimeFormat` for the length of that one synchronous call:
 * node-cron then caches a LocalTimeFormat and never constructs an ICU formatter; nothing else in
 * the process ever sees the swap. Any formatter it asks for that LocalTimeFormat does not
 * reproduce exactly (a time zone, other fields) is the real one.
 * test/unit/local-time.test.ts compares the parts with ICU's across DST changes and odd offsets.
 */

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** The fields node-cron asks for (getPartsFormatter in node-cron's dist/_shared.cjs). */
const FIELD_OPTIONS: Record<string, unknown> = {
  year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', weekday: 'short', hour12: false,
};

type Shape = 'fields' | 'offset';

const pad2 = (n: number) => String(n).padStart(2, '0');
const literal = (value: string): Intl.DateTimeFormatPart => ({ type: 'literal', value });

/** Which of node-cron's two formatters `options` describes, if it is one of them in local time. */
export function localShapeOf(locale: unknown, options: Intl.DateTimeFormatOptions | undefined): Shape | undefined {
  if (locale !== 'en-US' || !options || options.timeZone !== undefined) return undefined;
  const keys = Object.keys(options).filter((k) => (options as Record<string, unknown>)[k] !== undefined);
  if (keys.length === 1 && options.timeZoneName === 'shortOffset') return 'offset';
  const fields = Object.keys(FIELD_OPTIONS);
  if (keys.length === fields.length && fields.every((k) => (options as Record<string, unknown>)[k] === FIELD_OPTIONS[k])) return 'fields';
  return undefined;
}

/**
 * `formatToParts` of node-cron's two en-US formatters, in the machine's local time, from Date's
 * getters: `Mon, 03/09/2026, 14:05:09` and `3/9/2026, GMT+1` (`GMT`, `GMT-3:30`) as parts.
 */
export class LocalTimeFormat {
  constructor(private readonly shape: Shape) {}

  formatToParts(date: Date | number = new Date()): Intl.DateTimeFormatPart[] {
    const d = typeof date === 'number' ? new Date(date) : date;
    if (this.shape === 'offset') {
      return [
        { type: 'month', value: String(d.getMonth() + 1) }, literal('/'),
        { type: 'day', value: String(d.getDate()) }, literal('/'),
        { type: 'year', value: String(d.getFullYear()) }, literal(', '),
        { type: 'timeZoneName', value: gmtOffset(d) },
      ];
    }
    return [
      { type: 'weekday', value: WEEKDAYS[d.getDay()] }, literal(', '),
      { type: 'month', value: pad2(d.getMonth() + 1) }, literal('/'),
      { type: 'day', value: pad2(d.getDate()) }, literal('/'),
      { type: 'year', value: String(d.getFullYear()) }, literal(', '),
      { type: 'hour', value: pad2(d.getHours()) }, literal(':'),
      { type: 'minute', value: pad2(d.getMinutes()) }, literal(':'),
      { type: 'second', value: pad2(d.getSeconds()) },
    ];
  }

  format(date?: Date | number): string {
    return this.formatToParts(date).map((p) => p.value).join('');
  }
}

/** `shortOffset` as ICU writes it for en-US: GMT, GMT+1, GMT-5, GMT+5:30. */
function gmtOffset(date: Date): string {
  const minutes = -date.getTimezoneOffset();
  if (minutes === 0) return 'GMT';
  const abs = Math.abs(minutes);
  const rest = abs % 60;
  return `GMT${minutes < 0 ? '-' : '+'}${Math.floor(abs / 60)}${rest ? `:${pad2(rest)}` : ''}`;
}

/**
 * Runs `fn` (synchronously) with `Intl.DateTimeFormat` answering node-cron's two local-time
 * formatters with LocalTimeFormat; every other request gets the real formatter. Restored after.
 */
export function withLocalTimeFormat<T>(fn: () => T): T {
  const real = Intl.DateTimeFormat;
  const stand_in = function DateTimeFormat(locale?: string | string[], options?: Intl.DateTimeFormatOptions) {
    const shape = localShapeOf(locale, options);
    return shape ? new LocalTimeFormat(shape) : new real(locale, options);
  } as unknown as typeof Intl.DateTimeFormat;
  Object.defineProperty(Intl, 'DateTimeFormat', { value: stand_in, writable: true, configurable: true, enumerable: false });
  try {
    return fn();
  } finally {
    Object.defineProperty(Intl, 'DateTimeFormat', { value: real, writable: true, configurable: true, enumerable: false });
  }
}

/**
 * `date.toISOString()`, the same string, from Date's UTC getters. For the resident service
 * (`nrcert run`) only: V8's own Date formatting (toISOString, toJSON, toString…) sets up its
 * local-time-zone cache on first use, which reads ICU's zone data and names out of the node
 * binary: ≈ 0.5 MB of resident memory on Node 24 that a process which only waits never needs
 * (measured with /proc/PID/pagemap against the binary's symbols; the UTC getters read none of it).
 * test/unit/iso-time.test.ts compares it with toISOString over the whole range of Date;
 * test/integration/service-idle.test.ts checks the idle service never formats a Date through V8.
 * Short-lived commands keep calling toISOString.
 */

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** `date` as toISOString writes it (`2026-12-01T18:20:05.123Z`, `+275760-…`); RangeError when invalid, as toISOString. */
export function isoTime(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new RangeError('Invalid time value');
  const y = date.getUTCFullYear();
  const year = y >= 0 && y <= 9999 ? pad(y, 4) : `${y < 0 ? '-' : '+'}${pad(Math.abs(y), 6)}`;
  return `${year}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)}T${pad(date.getUTCHours(), 2)}:${pad(date.getUTCMinutes(), 2)}:${pad(date.getUTCSeconds(), 2)}.${pad(date.getUTCMilliseconds(), 3)}Z`;
}

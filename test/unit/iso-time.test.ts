import { isoTime } from '../../src/util/iso-time';

const LIMIT = 8.64e15; // the range of Date, in ms either side of 1970

test('isoTime writes what toISOString writes, across the whole range of Date', () => {
  const edges = [0, -1, 1, 999, -999, LIMIT, -LIMIT, Date.UTC(9999, 11, 31, 23, 59, 59, 999), Date.UTC(10000, 0, 1), Date.UTC(0, 0, 1) - 1, -62198755200000, Date.UTC(2024, 1, 29, 12), Date.UTC(1900, 1, 28)];
  let seed = 42;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const samples = [...edges, ...Array.from({ length: 20_000 }, () => Math.round((random() * 2 - 1) * (random() < 0.5 ? LIMIT : 4e12)))];
  const differing = samples.filter((ms) => isoTime(new Date(ms)) !== new Date(ms).toISOString());
  expect(differing.map((ms) => ({ ms, iso: isoTime(new Date(ms)), expected: new Date(ms).toISOString() }))).toEqual([]);
  expect(isoTime(new Date(Date.UTC(2026, 11, 1, 18, 20, 5, 7)))).toBe('2026-12-01T18:20:05.007Z');
  expect(isoTime(new Date(LIMIT))).toBe('+275760-09-13T00:00:00.000Z');
  expect(isoTime(new Date(-LIMIT))).toBe('-271821-04-20T00:00:00.000Z');
});

test('isoTime refuses an invalid date as toISOString does', () => {
  expect(() => new Date(NaN).toISOString()).toThrow(RangeError);
  expect(() => isoTime(new Date(NaN))).toThrow(RangeError);
  expect(() => isoTime(new Date(LIMIT + 1))).toThrow('Invalid time value');
});

/**
 * LocalTimeFormat gives node-cron the same parts as ICU's en-US formatters in local time, across
 * DST changes and offsets that are not whole hours; withLocalTimeFormat hands it out only for
 * node-cron's two shapes and only during the call.
 */
import cron from 'node-cron';
import { LocalTimeFormat, localShapeOf, withLocalTimeFormat } from '../../src/service/local-time';

const FIELDS: Intl.DateTimeFormatOptions = { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', weekday: 'short', hour12: false };
const OFFSET: Intl.DateTimeFormatOptions = { timeZone: undefined, timeZoneName: 'shortOffset' };
const ZONES = ['UTC', 'Europe/London', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', 'America/St_Johns', 'Pacific/Chatham'];
const savedTz = process.env.TZ;
afterAll(() => {
  if (savedTz === undefined) delete process.env.TZ;
  else process.env.TZ = savedTz;
});

/** Every 47 minutes through 2026: every hour of the day and both sides of each DST change. */
function dates(): Date[] {
  const out: Date[] = [];
  for (let t = Date.UTC(2026, 0, 1); t < Date.UTC(2027, 0, 1); t += 47 * 60_000) out.push(new Date(t));
  return out;
}

// ICU writes midnight as hour "24" on Node 20 with hour12: false, and offset zero as "GMT+0" or
// "GMT" (by zone and version); node-cron reads "24" as 0 and both offsets as Z.
const normalised = (parts: Intl.DateTimeFormatPart[]) =>
  parts.map((p) => (p.type === 'hour' && p.value === '24' ? { ...p, value: '00' } : p.type === 'timeZoneName' && p.value === 'GMT+0' ? { ...p, value: 'GMT' } : p));

describe.each(ZONES)('in %s', (zone) => {
  test('the parts equal ICU en-US for both of node-cron\'s formatters', () => {
    process.env.TZ = zone;
    const icuFields = new Intl.DateTimeFormat('en-US', FIELDS);
    const icuOffset = new Intl.DateTimeFormat('en-US', OFFSET);
    const fields = new LocalTimeFormat('fields');
    const offset = new LocalTimeFormat('offset');
    const differing = dates().filter(
      (d) =>
        JSON.stringify(fields.formatToParts(d)) !== JSON.stringify(normalised(icuFields.formatToParts(d))) ||
        JSON.stringify(offset.formatToParts(d)) !== JSON.stringify(normalised(icuOffset.formatToParts(d))),
    );
    expect(differing.map((d) => d.toISOString())).toEqual([]);
  });
});

test('only node-cron\'s two local-time shapes are answered; a time zone or other fields get ICU', () => {
  expect(localShapeOf('en-US', FIELDS)).toBe('fields');
  expect(localShapeOf('en-US', OFFSET)).toBe('offset');
  expect(localShapeOf('en-US', { ...FIELDS, timeZone: 'Europe/Berlin' })).toBeUndefined();
  expect(localShapeOf('en-US', { timeZone: 'Europe/Berlin', timeZoneName: 'shortOffset' })).toBeUndefined();
  expect(localShapeOf('en-GB', FIELDS)).toBeUndefined();
  expect(localShapeOf('en-US', { ...FIELDS, era: 'short' })).toBeUndefined();
  const real = Intl.DateTimeFormat;
  withLocalTimeFormat(() => {
    expect(new Intl.DateTimeFormat('en-US', FIELDS)).toBeInstanceOf(LocalTimeFormat);
    expect(new Intl.DateTimeFormat('en-US', { ...FIELDS, timeZone: 'Asia/Tokyo' })).toBeInstanceOf(real);
  });
  expect(Intl.DateTimeFormat).toBe(real);
});

test('a schedule made under it runs at the local times of its expression', () => {
  process.env.TZ = 'Europe/Berlin';
  const task = withLocalTimeFormat(() => cron.createTask('17 3,15 * * *', () => undefined));
  try {
    // Four runs from now, whatever the date: each at 03:17 or 15:17 Berlin time.
    const runs = task.getNextRuns(4).map((d) => [d.getDate(), d.getHours(), d.getMinutes()]);
    expect(runs.every(([, h, m]) => (h === 3 || h === 15) && m === 17)).toBe(true);
  } finally {
    task.destroy();
  }
});

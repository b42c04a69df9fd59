/**
 * The `nrcert events` node's two decisions (deploy/node-red/lib/events.js), in memory: which
 * events of events.json are new, and which status dot the published status earns.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { newEvents, statusDot } = require('../../deploy/node-red/lib/events.js');

const DAY = 86_400_000;
const NOW = Date.parse('2026-12-01T12:00:00Z');
const at = (days: number) => new Date(NOW + days * DAY).toISOString();
const cert = (notAfterDays: number, due = false) => ({ certificates: [{ names: ['a.test'], notBefore: at(notAfterDays - 90), notAfter: at(notAfterDays), dueAt: at(notAfterDays - 30), due }] });
const ev = (type: string, days: number) => ({ type, names: ['a.test'], at: at(days), host: 'pi', message: type });

test('only events not seen before are new, oldest first, each once', () => {
  const seen = new Set<string>();
  const first = [ev('renewed', -3)];
  expect(newEvents({ version: 1, events: first }, seen)).toEqual(first);
  expect(newEvents({ version: 1, events: first }, seen)).toEqual([]);
  const later = [ev('renewal_failed', -1), ev('expiring', 0)];
  expect(newEvents({ version: 1, events: [...first, ...later] }, seen)).toEqual(later);
  expect(newEvents(null, seen)).toEqual([]);
  // The same type and names at another time is another event.
  expect(newEvents({ version: 1, events: [...first, ...later, ev('expiring', 0.5)] }, seen)).toEqual([ev('expiring', 0.5)]);
});

test('the status dot: green with days left, yellow when due, red after a failure or expiry, grey without status', () => {
  expect(statusDot(cert(54), [], NOW)).toEqual({ fill: 'green', shape: 'dot', text: 'valid 54 d' });
  expect(statusDot(cert(20, true), [], NOW)).toMatchObject({ fill: 'yellow', text: 'due (20 d left)' });
  expect(statusDot(cert(20), [ev('renewed', -70), ev('renewal_failed', -1)], NOW)).toMatchObject({ fill: 'red', text: 'failed' });
  // A certificate issued after the failure is a success again.
  expect(statusDot(cert(89), [ev('renewal_failed', -2)], NOW)).toMatchObject({ fill: 'green', text: 'valid 89 d' });
  expect(statusDot(cert(-1), [], NOW)).toMatchObject({ fill: 'red', text: 'expired' });
  expect(statusDot(undefined, [], NOW)).toMatchObject({ fill: 'grey', text: 'no status yet' });
  expect(statusDot({ certificates: [] }, [], NOW)).toMatchObject({ fill: 'grey', text: 'no certificate' });
});

test("the service's last run decides red over the events when nrcert published it", () => {
  const failedRun = { lastRun: { at: at(-1), outcome: 'failed', message: 'x', exitCode: 4 } };
  expect(statusDot(cert(54), [ev('renewed', -1)], NOW, failedRun)).toMatchObject({ fill: 'red', text: 'failed' });
  expect(statusDot(cert(54), [], NOW, { lastRun: { ...failedRun.lastRun, outcome: 'rolled_back' } })).toMatchObject({ fill: 'red', text: 'rolled back' });
  expect(statusDot(cert(54), [ev('renewal_failed', -1)], NOW, { lastRun: { ...failedRun.lastRun, outcome: 'skipped' } })).toMatchObject({ fill: 'green' });
});

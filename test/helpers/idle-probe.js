/**
 * Preloaded (`node -r`) into `nrcert run` by test/integration/service-idle.test.ts: counts every
 * ICU date formatter the process constructs (through the global Intl.DateTimeFormat, as node-cron
 * does), records every call of Date.prototype's formatting methods (toISOString, toJSON,
 * toString…: the first one reads ICU's zone data, src/util/iso-time.ts; util.inspect's own copies
 * of them are not seen), and at exit writes those,
 * its node options, the modules it loaded and the Node built-ins it loaded (public names, from
 * process.moduleLoadList) to NRCERT_IDLE_PROBE.PID (JSON; by pid, as children preloaded through
 * NODE_OPTIONS write theirs beside it).
 */
'use strict';
const { writeFileSync } = require('node:fs');

const Real = Intl.DateTimeFormat;
let formatters = 0;
function Counting(locale, options) {
  formatters += 1;
  return new Real(locale, options);
}
Counting.supportedLocalesOf = Real.supportedLocalesOf;
Object.defineProperty(Intl, 'DateTimeFormat', { value: Counting, writable: true, configurable: true });

const dateFormatting = [];
for (const name of ['toISOString', 'toJSON', 'toString', 'toDateString', 'toTimeString', 'toUTCString', 'toGMTString', 'toLocaleString', 'toLocaleDateString', 'toLocaleTimeString']) {
  const real = Date.prototype[name];
  Object.defineProperty(Date.prototype, name, {
    value: function (...args) {
      // Who called (the first frame outside this probe), to name the line to change.
      dateFormatting.push(`${name} ${(new Error().stack ?? '').split('\n')[2]?.trim()}`);
      return real.apply(this, args);
    },
    writable: true,
    configurable: true,
  });
}

process.on('exit', () => {
  const builtins = process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice('NativeModule '.length));
  writeFileSync(`${process.env.NRCERT_IDLE_PROBE}.${process.pid}`, JSON.stringify({ execArgv: process.execArgv, formatters, dateFormatting, modules: Object.keys(require.cache), builtins }));
});

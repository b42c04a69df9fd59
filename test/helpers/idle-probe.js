/**
 * Preloaded (`node -r`) into `nrcert run` by test/integration/service-idle.test.ts: counts every
 * ICU date formatter the process constructs (through the global Intl.DateTimeFormat, as node-cron
 * does) and, at exit, writes that count, the modules it loaded and the Node built-ins it loaded
 * (public names, from process.moduleLoadList) to NRCERT_IDLE_PROBE (JSON).
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

process.on('exit', () => {
  const builtins = process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice('NativeModule '.length));
  writeFileSync(process.env.NRCERT_IDLE_PROBE, JSON.stringify({ formatters, modules: Object.keys(require.cache), builtins }));
});

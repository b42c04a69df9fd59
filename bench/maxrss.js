// Preloaded with `node -r` by the benchmark: writes this process's peak RSS (kB) to $NRCERT_BENCH_RSS at exit.
// VmHWM, not getrusage's maxRSS: on Linux the latter keeps the forking parent's RSS across exec,
// so every child would report at least the size of the jest process that spawned it.
const { appendFileSync, readFileSync } = require('node:fs');
process.on('exit', () => {
  if (!process.env.NRCERT_BENCH_RSS) return;
  const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'));
  appendFileSync(process.env.NRCERT_BENCH_RSS, `${hwm ? hwm[1] : process.resourceUsage().maxRSS}\n`);
});

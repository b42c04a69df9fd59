// Preloaded with `node -r` by the benchmark: writes this process's peak RSS (kB) to $NRCERT_BENCH_RSS at exit.
const { appendFileSync } = require('node:fs');
process.on('exit', () => {
  if (process.env.NRCERT_BENCH_RSS) appendFileSync(process.env.NRCERT_BENCH_RSS, `${process.resourceUsage().maxRSS}\n`);
});

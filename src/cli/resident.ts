/**
 * V8 settings the resident service (`nrcert run`) gives itself, so they hold however it is
 * started (systemd unit, `npx nrcert run`, `nrcert run` on PATH, docker): no command-line flag
 * or shebang needed. The compiler flags are set by the first statement of cli/index.ts (before
 * any of nrcert's modules is even resolved: resolving paths is what makes Node's path helpers
 * hot); this module holds the rest. The service only waits and starts a child twice a day;
 * the renewal child (`nrcert renew --scheduled`) is a fresh node with V8's defaults.
 *
 * - No optimising or baseline compilers (TurboFan, Maglev, Sparkplug): they would only ever
 *   compile Node's own path helpers, hot while modules are resolved at start, and that first
 *   compilation alone touches ≈ 3 MB of the node binary's compiler code and zone memory
 *   (bench/cli.bench.ts, Node 20-24). The interpreter runs everything. V8 reads these flags at
 *   every tiering decision, so changing them at run time is safe (unlike heap sizes, which are
 *   fixed when the isolate starts). One compilation comes before any statement of nrcert: on
 *   Node 24, Maglev compiles path's isPosixPathSeparator while Node resolves the entry script
 *   (`--trace-opt`; ≈ 1.5 MB of compiler code): the systemd unit passes `--no-maglev` for it, and
 *   started without it the service starts itself once more in place with it (process.execve,
 *   cli/index.ts), so by hand, through `npx` or in docker it idles as under the unit.
 * - One full garbage collection once the schedule is set: start-up garbage (parsed settings,
 *   module sources) leaves the young generation grown; Node 20's memory reducer shrinks it after
 *   ~20 s idle, Node 22/24's did not here (≈ 1.5 MB). Its "last resort" flavour (V8's
 *   CollectAllAvailableGarbage: repeated full collections that shrink the heap, ≈ 10 ms once)
 *   gave ≈ 0.3 MB more on Node 24 than a plain one; Node 20's V8 ignores the flavour and
 *   collects once. A collection through `%CollectGarbage` (no new context) left ≈ 2 MB more.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** V8's `gc()` as the flag `--expose-gc` installs it (options: v8/src/extensions/gc-extension.cc). */
type Gc = (options?: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

/** A full, synchronous garbage collection that gives back all it can (V8's `gc()`, exposed for the one call). */
export function collectGarbageOnce(): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as Gc | undefined;
  setFlagsFromString('--no-expose-gc');
  gc?.({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}

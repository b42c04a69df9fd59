/**
 * Tests that need a real server or tool from Debian (knot, BIND, systemd-nspawn): away from CI,
 * where it is missing, they are skipped with one line; under CI=true (.ci/run installs it, as
 * root) a missing piece fails them loudly, so a skip never counts as a pass there.
 */

/** `describe`, or `describe.skip` with one line saying why; throws under CI=true when `unavailable` is set. */
export function describeWhenAvailable(what: string, unavailable: string | undefined): jest.Describe {
  if (!unavailable) return describe;
  if (process.env.CI === 'true') throw new Error(`${what} must run in CI but cannot: ${unavailable}`);
  console.log(`skipping ${what}: ${unavailable}`);
  return describe.skip;
}

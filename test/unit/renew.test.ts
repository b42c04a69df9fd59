/**
 * The renewal orchestrator and its bookkeeping (attemptRenewal over renewLocked) with in-memory
 * fakes of every port: decisions, back-off, budget, rollback to the last live lineage, the lock,
 * pending activations and failures after the swap. No process, no network, no clock of its own.
 */
import { DnsProviderError, HookError, InstallError, LockedError, RolledBackError } from '../../src/errors';
import { attemptRenewal } from '../../src/renewal/attempt';
import { markPending } from '../../src/renewal/lineages';
import { FAILURE_DELAYS_MS, nextAttemptAt } from '../../src/renewal/backoff';
import { fakeDeps, makeSet } from '../fakes/renewal-ports';
import { certificateInfo } from '../../src/store/pem';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function later(f: ReturnType<typeof fakeDeps>, ms: number): void {
  f.clock.now = new Date(f.clock.now.getTime() + ms);
}

/** A first certificate, activated: the state every other test starts from. */
async function withLiveCertificate() {
  const f = fakeDeps();
  const outcome = await attemptRenewal(f.deps, {});
  expect(outcome.action).toBe('renewed');
  return { ...f, first: f.store.currentId! };
}

describe('attemptRenewal', () => {
  it('issues when nothing is installed, activates it and records it live', async () => {
    const f = fakeDeps();
    const outcome = await attemptRenewal(f.deps, {});
    expect(outcome).toMatchObject({ action: 'renewed', warnings: [] });
    const id = f.store.currentId!;
    expect(f.activator.calls).toEqual([id]);
    expect(f.state.value.lineages).toEqual({ history: [id], failed: [] });
    expect(f.state.value.lastRun).toMatchObject({ outcome: 'renewed', exitCode: 0 });
    expect(f.archive.sets.has(id)).toBe(true);
    expect(f.reporter.events.map((e) => e.type)).toEqual(['renewed']);
    expect(f.reporter.statuses.at(-1)!.certificate!.fingerprint256).toBe((await f.store.installed())!.info.fingerprint256);
  });

  it('is not due for a fresh certificate: no issuer is created, the run is recorded as skipped', async () => {
    const f = await withLiveCertificate();
    f.counts.issuer = 0;
    const outcome = await attemptRenewal(f.deps, {});
    expect(outcome.action).toBe('skipped');
    expect(f.counts.issuer).toBe(0);
    expect(f.state.value.lastRun!.outcome).toBe('skipped');
  });

  it('renews once a third of the lifetime is left, and passes the ARI id as replaces', async () => {
    const f = await withLiveCertificate();
    f.deps.ari = { lookup: async () => undefined };
    later(f, 61 * DAY);
    const outcome = await attemptRenewal(f.deps, {});
    expect(outcome.action).toBe('renewed');
    expect(f.store.currentId).not.toBe(f.first);
    f.deps.ari = { lookup: async () => ({ certId: 'aki.serial', window: { start: new Date(0), end: new Date(1) }, retryAfter: new Date(0) }) };
    await attemptRenewal(f.deps, { force: true });
    expect(f.issuer.requests.at(-1)!.replaces).toBe('aki.serial');
  });

  it('counts failed orders and backs off 1 h, 6 h, 24 h, 72 h; a success resets it', async () => {
    const f = await withLiveCertificate();
    later(f, 61 * DAY);
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) {
      f.issuer.steps.push({ after: new DnsProviderError('cloudflare: creating the TXT record failed (HTTP 503)', { transient: true }) });
      await expect(attemptRenewal(f.deps, { scheduled: true })).rejects.toThrow(DnsProviderError);
      const s = f.state.value;
      waits.push(Date.parse(s.nextAttemptAt!) - f.clock.now.getTime());
      expect(s.consecutiveFailures).toBe(i + 1);
      expect(s.lastFailure).toMatchObject({ orderPlaced: true, transient: true, exitCode: 5 });
      f.clock.now = new Date(Date.parse(s.nextAttemptAt!));
    }
    expect(waits).toEqual([...FAILURE_DELAYS_MS, FAILURE_DELAYS_MS[3]]);
    expect(f.reporter.events.filter((e) => e.type === 'renewal_failed')).toHaveLength(5);
    await attemptRenewal(f.deps, { scheduled: true });
    expect(f.state.value).toMatchObject({ consecutiveFailures: 0, failuresTotal: 5 });
    expect(f.state.value.nextAttemptAt).toBeUndefined();
  });

  it('holds a scheduled run while backing off (outcome held), without creating the issuer; a manual run tries now', async () => {
    const f = await withLiveCertificate();
    later(f, 61 * DAY);
    f.issuer.steps.push({ after: new DnsProviderError('cloudflare: 503', { transient: true }) });
    await expect(attemptRenewal(f.deps, { scheduled: true })).rejects.toThrow();
    f.counts.issuer = 0;
    later(f, 10 * 60_000);
    const held = await attemptRenewal(f.deps, { scheduled: true });
    expect(held.action).toBe('held');
    expect(f.counts.issuer).toBe(0);
    expect(f.state.value.lastRun).toMatchObject({ outcome: 'held' });
    expect(f.reporter.statuses.at(-1)!.lastRun!.outcome).toBe('held');
    expect((await attemptRenewal(f.deps, {})).action).toBe('renewed');
  });

  it('a failure before any order (token, zone) costs no budget: no back-off, and the next scheduled run tries at once', async () => {
    const f = await withLiveCertificate();
    later(f, 61 * DAY);
    f.issuer.steps.push({ before: new DnsProviderError('cloudflare: the token was refused (CLOUDFLARE_API_TOKEN)') });
    await expect(attemptRenewal(f.deps, { scheduled: true })).rejects.toThrow(/token was refused/);
    expect(f.state.value).toMatchObject({ consecutiveFailures: 0, failuresTotal: 1, lastFailure: { orderPlaced: false, exitCode: 5 } });
    expect(f.state.value.nextAttemptAt).toBeUndefined();
    expect(f.reporter.events.at(-1)!.message).toMatch(/no ACME order was placed/);
    const ordersBefore = f.issuer.orders;
    later(f, 60_000); // the user fixed the token and restarted the service
    expect((await attemptRenewal(f.deps, { scheduled: true })).action).toBe('renewed');
    expect(f.issuer.orders).toBe(ordersBefore + 1);
  });

  it('a name that keeps failing is ordered at most 5 times in any 7 days, however many failures happen before an order', async () => {
    const f = await withLiveCertificate();
    later(f, 61 * DAY);
    const orderTimes: number[] = [];
    const start = f.clock.now.getTime();
    // A scheduled check every 12 hours for 21 days; every other check also meets a failure before any order.
    for (let tick = 0; tick < 42; tick++) {
      f.issuer.steps.push(tick % 2 ? { before: new DnsProviderError('cloudflare: 503 on zone lookup', { transient: true }) } : { after: new DnsProviderError('cloudflare: 503', { transient: true }) });
      const before = f.issuer.orders;
      await attemptRenewal(f.deps, { scheduled: true }).catch(() => undefined);
      if (f.issuer.orders > before) orderTimes.push(f.clock.now.getTime());
      f.issuer.steps.length = 0;
      f.clock.now = new Date(start + (tick + 1) * 12 * HOUR);
    }
    for (const t of orderTimes) expect(orderTimes.filter((u) => u >= t && u < t + 7 * DAY).length).toBeLessThanOrEqual(5);
    expect(orderTimes.length).toBeGreaterThan(3);
  });

  it('rolls back to the last live certificate, twice in a row: never to the one that failed before', async () => {
    const f = await withLiveCertificate();
    f.activator.failAll = true;
    f.activator.failing.clear();
    // The restored lineage activates again: only new ones fail.
    const activate = f.activator.activate.bind(f.activator);
    f.activator.activate = async (l) => (l.id === f.first ? undefined : activate(l));
    const first = await attemptRenewal(f.deps, { force: true }).catch((e: Error) => e);
    expect(first).toBeInstanceOf(RolledBackError);
    const failedOnce = f.store.switches.at(-2)!;
    expect(f.store.currentId).toBe(f.first);
    const second = await attemptRenewal(f.deps, { force: true }).catch((e: Error) => e);
    expect(second).toBeInstanceOf(RolledBackError);
    expect(f.store.currentId).toBe(f.first);
    expect(f.state.value.lineages!.failed).toHaveLength(2);
    expect(f.state.value.lineages!.failed).toContain(failedOnce);
    expect(f.state.value.lineages!.history).toEqual([f.first]);
    // The message says once what was tried, what is installed now, and what to do.
    const message = (second as Error).message;
    expect(message).toMatch(/^Tried: activating the new certificate \S+: RESTART_COMMAND \(\/bin\/false\) exited with code 1\. Installed now: the previous certificate /);
    expect(message).toContain(f.first);
    expect(message).toMatch(/and Node-RED serves it again\. To do: fix the cause above/);
    expect(message.match(/installed/gi)).toHaveLength(1);
    expect(f.state.value.lastRun!.outcome).toBe('rolled_back');
    expect(f.reporter.events.at(-1)!.type).toBe('rollback');
  });

  it('a lineage whose key no longer matches is never rolled back to', async () => {
    const f = await withLiveCertificate();
    const other = await makeSet(['example.test'], f.clock.now);
    f.store.sets.set(f.first, { ...f.store.sets.get(f.first)!, privkey: other.privkey });
    f.activator.failAll = true;
    const err = await attemptRenewal(f.deps, { force: true }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(HookError);
    expect(err).not.toBeInstanceOf(RolledBackError);
    expect((err as Error).message).toMatch(/Installed now: that new certificate .*no earlier certificate Node-RED served/);
    expect(f.store.currentId).not.toBe(f.first);
    // Left pending: the next run activates it again.
    expect(f.state.value.lineages!.pending?.id).toBe(f.store.currentId);
  });

  it('a run refused by the lock changes nothing', async () => {
    const f = await withLiveCertificate();
    const writes = f.state.writes;
    const statuses = f.reporter.statuses.length;
    f.lock.heldBy = 'renew (pid 4242)';
    await expect(attemptRenewal(f.deps, { force: true })).rejects.toThrow(LockedError);
    expect(f.state.writes).toBe(writes);
    expect(f.reporter.statuses.length).toBe(statuses);
    expect(f.counts.issuer).toBe(1);
  });

  it('finishes an activation a killed run left pending, before deciding', async () => {
    const f = await withLiveCertificate();
    // A run installed a new lineage and died before the restart hook ran.
    const set = await makeSet(f.deps.names, f.clock.now);
    const { id } = await f.store.install(set);
    const installed = (await f.store.installed())!;
    f.state.value.lineages = markPending(f.state.value.lineages!, installed.info.fingerprint256, f.clock.now, id);
    f.activator.calls = [];
    const outcome = await attemptRenewal(f.deps, {});
    expect(outcome.action).toBe('skipped');
    expect(f.activator.calls).toEqual([id]);
    expect(f.state.value.lineages).toEqual({ history: [f.first, id], failed: [] });
  });

  it('a pending record from a run that died before its swap is dropped', async () => {
    const f = await withLiveCertificate();
    f.state.value.lineages = markPending(f.state.value.lineages!, 'AA:BB', f.clock.now);
    f.activator.calls = [];
    await attemptRenewal(f.deps, {});
    expect(f.activator.calls).toEqual([]);
    expect(f.state.value.lineages!.pending).toBeUndefined();
  });

  it('archiving failing after the swap still activates the new certificate, and the outcome says so', async () => {
    const f = await withLiveCertificate();
    f.archive.failing = true;
    f.activator.calls = [];
    const outcome = await attemptRenewal(f.deps, { force: true });
    expect(outcome.action).toBe('renewed');
    if (outcome.action !== 'renewed') return;
    expect(f.activator.calls).toEqual([outcome.lineage]);
    expect(outcome.warnings).toEqual([expect.stringMatching(/^archiving the new certificate failed: EROFS/)]);
    expect(f.state.value.lastRun!.message).toMatch(/archiving the new certificate failed/);
  });

  it('a validation failure installs nothing and counts as a failed order', async () => {
    const f = await withLiveCertificate();
    f.issuer.steps.push({ set: await makeSet(['other.test'], f.clock.now) });
    const err = await attemptRenewal(f.deps, { force: true }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(InstallError);
    expect((err as Error).message).toMatch(/does not cover example\.test/);
    expect(f.store.currentId).toBe(f.first);
    expect(f.state.value.consecutiveFailures).toBe(1);
  });

  it('TXT records the issuer could not remove are in the outcome, the status and the failure notice', async () => {
    const f = await withLiveCertificate();
    f.issuer.left = ['_acme-challenge.example.test'];
    f.issuer.steps.push({ after: new DnsProviderError('cloudflare: 503', { transient: true }) });
    await expect(attemptRenewal(f.deps, { force: true })).rejects.toThrow();
    expect(f.state.value.lastRun!.leftoverRecords).toEqual(['_acme-challenge.example.test']);
    expect(f.reporter.statuses.at(-1)!.leftoverRecords).toEqual(['_acme-challenge.example.test']);
    expect(f.reporter.events.at(-1)!.message).toMatch(/TXT records left behind .*_acme-challenge\.example\.test/);
    const ok = await attemptRenewal(f.deps, { force: true });
    expect(ok.action === 'renewed' && ok.warnings).toEqual(['the TXT record _acme-challenge.example.test could not be removed; the next run removes it']);
  });

  it('reads the installed certificate once per run, whatever the run does', async () => {
    const f = await withLiveCertificate();
    for (const options of [{}, { force: true }]) {
      f.store.reads = 0;
      await attemptRenewal(f.deps, options);
      expect(f.store.reads).toBe(1);
    }
    f.activator.failAll = true;
    const activate = f.activator.activate.bind(f.activator);
    const live = f.store.currentId;
    f.activator.activate = async (l) => (l.id === live ? undefined : activate(l));
    f.store.reads = 0;
    await expect(attemptRenewal(f.deps, { force: true })).rejects.toThrow(RolledBackError);
    expect(f.store.reads).toBe(1);
    expect(f.reporter.statuses.at(-1)!.certificate!.fingerprint256).toBe(certificateInfo(f.store.sets.get(live!)!.cert).fingerprint256);
  });

  it('a dry run writes no state and no status', async () => {
    const f = await withLiveCertificate();
    const writes = f.state.writes;
    const outcome = await attemptRenewal(f.deps, { dryRun: true });
    expect(outcome.action).toBe('dry-run');
    expect(f.state.writes).toBe(writes);
    expect(f.store.currentId).toBe(f.first);
  });
});

describe('nextAttemptAt', () => {
  const now = new Date('2026-03-01T00:00:00Z');
  it('waits 1 h, 6 h, 24 h, then 72 h after failed orders; permanent ones start at 24 h', () => {
    const waits = [1, 2, 3, 4, 9].map((n) => nextAttemptAt(n, false, now).getTime() - now.getTime());
    expect(waits).toEqual([1, 6, 24, 72, 72].map((h) => h * HOUR));
    expect([1, 2, 3].map((n) => nextAttemptAt(n, true, now).getTime() - now.getTime())).toEqual([24, 72, 72].map((h) => h * HOUR));
  });
  it('waits longer when the CA asked for it (Retry-After), never shorter', () => {
    const asked = new Date(now.getTime() + 5 * HOUR);
    expect(nextAttemptAt(1, false, now, asked)).toEqual(asked);
    expect(nextAttemptAt(4, false, now, asked).getTime() - now.getTime()).toBe(72 * HOUR);
  });
});

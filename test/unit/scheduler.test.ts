/**
 * RenewalScheduler with a fake renewal child (in memory): what a stop sends to a running renewal
 * and how its end is reported, so that a stop does not show up as a failed renewal.
 */
import { EventEmitter } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import { RenewalScheduler, type RunningRenewal } from '../../src/service/scheduler';
import type { Logger } from '../../src/log';

/** A renewal child that records the signals it gets and exits when told to. */
class FakeChild extends EventEmitter {
  readonly pid = 4242;
  readonly signals: string[] = [];
  #exit!: (r: { code: number | null; signal: NodeJS.Signals | null }) => void;
  readonly done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => (this.#exit = resolve));
  constructor(private readonly onSignal: (child: FakeChild, signal: string) => void) {
    super();
  }
  kill(signal: string): boolean {
    this.signals.push(signal);
    this.onSignal(this, signal);
    return true;
  }
  exit(code: number | null, signal: NodeJS.Signals | null = null): void {
    this.#exit({ code, signal });
  }
}

function recordingLogger(): { logger: Logger; lines: Array<{ level: string; msg: string }> } {
  const lines: Array<{ level: string; msg: string }> = [];
  const at = (level: string) => (_obj: unknown, msg?: string) => lines.push({ level, msg: msg ?? String(_obj) });
  const logger = { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') } as unknown as Logger;
  return { logger, lines };
}

function schedulerWith(child: FakeChild) {
  const { logger, lines } = recordingLogger();
  const scheduler = new RenewalScheduler({
    schedule: '0 0 1 1 *',
    startDelayMs: 0,
    logger,
    startRenewal: (): RunningRenewal => ({ child: child as unknown as ChildProcess, done: child.done }),
  });
  return { scheduler, lines };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('RenewalScheduler', () => {
  it('stop sends one SIGTERM to the running renewal, waits for it, and reports 130 after a stop as a clean stop', async () => {
    const child = new FakeChild((c, signal) => signal === 'SIGTERM' && setImmediate(() => c.exit(130)));
    const { scheduler, lines } = schedulerWith(child);
    scheduler.tick('start');
    expect(scheduler.busy).toBe(true);
    await scheduler.stop(60_000);
    await settle();
    expect(child.signals).toEqual(['SIGTERM']);
    expect(scheduler.busy).toBe(false);
    expect(lines.filter((l) => l.level === 'error')).toEqual([]);
    expect(lines).toContainEqual({ level: 'info', msg: 'renewal stopped after cleaning up' });
  });

  it('a renewal that exits 130 on its own (not stopped by us) is a failure', async () => {
    const child = new FakeChild(() => undefined);
    const { scheduler, lines } = schedulerWith(child);
    scheduler.tick('schedule');
    child.exit(130);
    await settle();
    expect(lines).toContainEqual({ level: 'error', msg: 'renewal check failed; the service goes on' });
    await scheduler.stop(60_000);
    expect(child.signals).toEqual([]);
  });

  it('skips a tick while a renewal runs', async () => {
    const child = new FakeChild(() => undefined);
    const { scheduler, lines } = schedulerWith(child);
    scheduler.tick('schedule');
    scheduler.tick('schedule');
    expect(lines.filter((l) => l.msg === 'renewal check started')).toHaveLength(1);
    expect(lines).toContainEqual({ level: 'info', msg: 'a renewal is still running; skipping this check' });
    child.exit(0);
    await settle();
    expect(lines).toContainEqual({ level: 'info', msg: 'renewal check finished' });
  });

  it('a fleet host that is not the issuer starts no renewal; once elected it does', async () => {
    const child = new FakeChild(() => undefined);
    const { logger, lines } = recordingLogger();
    let issuer = false;
    let started = 0;
    const scheduler = new RenewalScheduler({
      schedule: '0 0 1 1 *', startDelayMs: 0, logger,
      startRenewal: (): RunningRenewal => { started += 1; return { child: child as unknown as ChildProcess, done: child.done }; },
      skip: () => (issuer ? undefined : 'another host of the fleet is its issuer'),
    });
    scheduler.tick('schedule');
    expect(started).toBe(0);
    expect(lines).toContainEqual({ level: 'debug', msg: 'not checking: another host of the fleet is its issuer' });
    issuer = true;
    scheduler.tick('elected');
    expect(started).toBe(1);
    child.exit(0);
    await scheduler.stop(1000);
  });
});

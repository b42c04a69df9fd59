import type { ChildProcess } from 'node:child_process';
import { ExitCode } from '../errors';
import type { Logger } from '../log';
import { withLocalTimeFormat } from './local-time';

/** A renewal started as a child process, and the promise of its exit. */
export interface RunningRenewal {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** What the scheduler needs: when to run, how to start one renewal, where to log. */
export interface SchedulerOptions {
  /** node-cron expression (validated by the caller). */
  schedule: string;
  /** The check shortly after start. */
  startDelayMs: number;
  logger: Logger;
  /** Starts one renewal child: `renew --scheduled` for the schedule; `extraArgs` replace that (the editor's `--force`). */
  startRenewal: (extraArgs?: string[]) => RunningRenewal;
  /** Why this check is not this host's to run (a fleet member that is not the issuer), or undefined. */
  skip?: () => string | undefined;
  /** Told how every renewal check ended, by exit code (the fleet hands its issuer role over after repeated failures). */
  onFinished?: (code: number | null) => void;
}

/**
 * The long-running part of `nrcert run`: node-cron ticks (and one check shortly after start)
 * each start `nrcert renew --scheduled` as a child process. The ACME library and the Cloudflare
 * SDK live only in that child, so the idle service stays small; a child that crashes is logged
 * and the service goes on; a tick while a renewal runs is skipped. It opens no socket.
 */
export class RenewalScheduler {
  #task?: { stop(): void | Promise<void>; destroy?(): void | Promise<void> };
  #startTimer?: NodeJS.Timeout;
  #running?: RunningRenewal;
  #stopping = false;

  constructor(private readonly options: SchedulerOptions) {}

  /**
   * Starts the schedule and the first check. node-cron computes its first date inside
   * `schedule()` and keeps the formatters it made for it: made there from Date's getters instead
   * of ICU's (local-time.ts), the idle service never loads ICU's date formatting (≈ 7 MB).
   */
  start(): void {
    const cron = require('node-cron') as typeof import('node-cron');
    this.#task = withLocalTimeFormat(() => cron.schedule(this.options.schedule, () => this.tick('schedule'), { name: 'nrcert-renew', noOverlap: true }));
    this.#startTimer = setTimeout(() => this.tick('start'), this.options.startDelayMs);
    this.options.logger.info({ schedule: this.options.schedule, firstCheckInMs: this.options.startDelayMs }, 'nrcert service started');
  }

  /** True while a renewal child runs. */
  get busy(): boolean {
    return this.#running !== undefined;
  }

  /** Starts one renewal now, unless one is running. */
  tick(reason: 'schedule' | 'start' | 'elected'): void {
    // A stopping service starts nothing (a fleet election may still arrive while it stops).
    if (this.#stopping) return;
    const skip = this.options.skip?.();
    if (skip) {
      this.options.logger.debug({ reason }, `not checking: ${skip}`);
      return;
    }
    if (this.#running) {
      this.options.logger.info({ reason }, 'a renewal is still running; skipping this check');
      return;
    }
    this.launch(reason);
  }

  /**
   * Starts a renewal with `args` now (the editor's `renew --force`), or says why not: one is
   * running or the service is stopping (scheduled and requested renewals never overlap), or this
   * check is not this host's (a fleet member that is not the issuer).
   */
  runNow(args: string[]): RunningRenewal | { notStarted: string } {
    const skip = this.options.skip?.();
    if (skip) return { notStarted: `This host does not renew: ${skip}; ask there, or wait for its next check.` };
    if (this.#running || this.#stopping) return { notStarted: 'A renewal was already running; ask again when it has finished.' };
    return this.launch('editor', args);
  }

  private launch(reason: 'schedule' | 'start' | 'editor' | 'elected', args?: string[]): RunningRenewal {
    const running = this.options.startRenewal(args);
    this.#running = running;
    this.options.logger.info({ reason, pid: running.child.pid }, 'renewal check started');
    running.done.then(({ code, signal }) => {
      this.#running = undefined;
      if (code === 0) this.options.logger.info({ code, signal }, 'renewal check finished');
      else if (this.#stopping && code === ExitCode.interrupted) this.options.logger.info({ code, signal }, 'renewal stopped after cleaning up');
      else this.options.logger.error({ code, signal }, 'renewal check failed; the service goes on');
      if (!(this.#stopping && code === ExitCode.interrupted)) this.options.onFinished?.(code);
    });
    return running;
  }

  /**
   * Stops scheduling; a running renewal is asked to stop (SIGTERM: it removes its TXT records,
   * releases the lock and exits 130) and is killed if it has not finished within `graceMs`. The
   * child may have had SIGTERM from systemd already (KillMode=control-group); a repeated SIGTERM
   * never cuts its cleanup short.
   */
  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#startTimer);
    await this.#task?.stop();
    await this.#task?.destroy?.();
    const running = this.#running;
    if (!running) return;
    this.options.logger.info({ pid: running.child.pid }, 'waiting for the running renewal to clean up and stop');
    running.child.kill('SIGTERM');
    const timer = setTimeout(() => running.child.kill('SIGKILL'), graceMs);
    await running.done;
    clearTimeout(timer);
  }
}

/** The default schedule: twice a day, 12 hours apart, at a minute and hour picked once per install. */
export function defaultSchedule(slot: { minute: number; hour: number }): string {
  return `${slot.minute} ${slot.hour % 12},${(slot.hour % 12) + 12} * * *`;
}

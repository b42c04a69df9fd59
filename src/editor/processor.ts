/**
 * Works through the editor's spool: takes the requests (spool.ts), checks each (request.ts),
 * refuses or runs it (jobs.ts decides renewals) and keeps jobs.json up to date. The actions
 * themselves are passed in (actions.ts builds the real ones), so the service, the one-shot
 * `nrcert editor process` and the tests share this logic.
 *
 * A renewal runs in the background (it takes seconds to minutes), so a second request that lands
 * meanwhile is read and refused at once; client requests are quick and run one after the other.
 * Every request gets one log line naming its file and what became of it.
 */
import type { Logger } from '../log';
import { readState, writeState } from '../store/state';
import { statePath } from '../store/state-dir';
import { EDITOR_FILES, EDITOR_FORMAT_VERSION, writeEditorFile, type EditorFolder } from './folder';
import { decideRenewRequest, withJob, type Job } from './jobs';
import { parseRequest, type EditorRequest } from './request';
import { takeRequests } from './spool';
import { readEditorJson } from './events';
import { isoTime } from '../util/iso-time';

/** How an action ended: its message is shown in the editor (no secret in it). */
export interface ActionResult {
  ok: boolean;
  message: string;
  /** A renewal that was not started at all (one running, a fleet member): it does not count against EDITOR_RENEW_INTERVAL. */
  notStarted?: boolean;
}

/** What the processor can do. */
export interface SpoolActions {
  /** True while a renewal not started by the editor runs (the service's schedule). */
  renewalRunning(): boolean;
  /** Runs `renew --force` once; resolves when it has ended. */
  renew(): Promise<ActionResult>;
  /** Issues a client certificate and leaves it as requests/`download` (a .p12 with the request's password). */
  clientAdd(request: Extract<EditorRequest, { action: 'client-add' }>, download: string): Promise<ActionResult>;
  /** Revokes the client certificate with that serial. */
  clientRevoke(serial: string): Promise<ActionResult>;
}

/** The processor's surroundings. */
export interface ProcessorOptions {
  folder: EditorFolder;
  stateDir: string;
  renewIntervalMs: number;
  actions: SpoolActions;
  logger: Logger;
  now?: () => Date;
}

/** The spool of one editor folder, processed one scan at a time. */
export class SpoolProcessor {
  #jobs: Job[] | undefined;
  #renewing: Promise<void> | undefined;
  #scanning: Promise<void> = Promise.resolve();
  readonly #now: () => Date;

  constructor(private readonly o: ProcessorOptions) {
    this.#now = o.now ?? (() => new Date());
  }

  /** True while the editor's renewal runs. */
  get renewing(): boolean {
    return this.#renewing !== undefined;
  }

  /** Resolves when the editor's renewal (if one runs) has ended. */
  async idle(): Promise<void> {
    await this.#scanning;
    while (this.#renewing) await this.#renewing;
  }

  /** Takes and handles every request in the spool now; scans never overlap. */
  scan(): Promise<void> {
    const next = this.#scanning.then(() => this.scanOnce());
    this.#scanning = next.catch((err: Error) => this.o.logger.warn(`EDITOR_DIR: could not process the requests (${err.message}); trying again at the next look`));
    return this.#scanning;
  }

  private async scanOnce(): Promise<void> {
    const { taken } = takeRequests(this.o.folder, this.#now().getTime());
    for (const file of taken) {
      const parsed = parseRequest(file);
      if (!parsed.ok) {
        this.o.logger.warn({ file: file.name }, `editor request ${file.name} refused: ${parsed.reason}; nothing was done and the file was removed`);
        if (parsed.id) this.record({ id: parsed.id, action: 'unknown', state: 'refused', message: `The request was refused: ${parsed.reason}.`, requestedAt: this.stamp() });
        continue;
      }
      await this.handle(parsed.request, file.name);
    }
  }

  private async handle(request: EditorRequest, file: string): Promise<void> {
    const job: Job = { id: request.id, action: request.action, state: 'running', message: 'Started.', requestedAt: this.stamp() };
    if (this.jobs().some((j) => j.id === request.id)) {
      this.o.logger.warn({ file }, `editor request ${file} refused: its id was used before; nothing was done`);
      return;
    }
    if (request.action === 'renew') return this.startRenewal(job, file);
    this.o.logger.info({ file, action: request.action }, `editor request ${file}: ${request.action}`);
    this.record({ ...job, startedAt: job.requestedAt });
    const download = `${request.id}.p12`;
    const result = await (request.action === 'client-add' ? this.o.actions.clientAdd(request, download) : this.o.actions.clientRevoke(request.serial))
      .catch((err: Error): ActionResult => ({ ok: false, message: err.message }));
    this.finish({ ...job, startedAt: job.requestedAt, ...(result.ok && request.action === 'client-add' ? { download } : {}) }, result, file);
  }

  private async startRenewal(job: Job, file: string): Promise<void> {
    const last = await this.lastRenewal();
    const decision = decideRenewRequest({
      now: this.#now(), running: this.renewing || this.o.actions.renewalRunning(), lastEditorRenewalAt: last, intervalMs: this.o.renewIntervalMs,
    });
    if (!decision.allowed) {
      this.o.logger.info({ file }, `editor request ${file} (renew) refused: ${decision.reason}`);
      this.record({ ...job, state: 'refused', message: decision.reason, finishedAt: job.requestedAt });
      return;
    }
    this.o.logger.info({ file }, `editor request ${file}: renewing now (renew --force)`);
    const started = { ...job, startedAt: this.stamp(), message: 'Renewing the certificate…' };
    this.record(started);
    await writeState(statePath(this.o.stateDir, 'editor'), { lastRenewalAt: started.startedAt });
    this.#renewing = this.o.actions.renew()
      .catch((err: Error): ActionResult => ({ ok: false, message: err.message }))
      .then(async (result) => {
        if (result.notStarted) await writeState(statePath(this.o.stateDir, 'editor'), { lastRenewalAt: last });
        this.finish(started, result, file);
      })
      .finally(() => { this.#renewing = undefined; });
  }

  private finish(job: Job, result: ActionResult, file: string): void {
    const done: Job = { ...job, state: result.ok ? 'succeeded' : 'failed', message: result.message, finishedAt: this.stamp() };
    const log = result.ok ? this.o.logger.info.bind(this.o.logger) : this.o.logger.warn.bind(this.o.logger);
    log({ file, action: job.action, state: done.state }, `editor request ${file} (${job.action}) ${done.state}: ${result.message}`);
    this.record(done);
  }

  private async lastRenewal(): Promise<Date | undefined> {
    const saved = await readState<{ lastRenewalAt?: string }>(statePath(this.o.stateDir, 'editor'), {}).catch(() => ({} as { lastRenewalAt?: string }));
    return saved.lastRenewalAt ? new Date(saved.lastRenewalAt) : undefined;
  }

  private jobs(): Job[] {
    this.#jobs ??= readEditorJson<{ jobs?: Job[] }>(this.o.folder, EDITOR_FILES.jobs)?.jobs?.filter((j) => typeof j?.id === 'string') ?? [];
    return this.#jobs;
  }

  /** Puts `job` into jobs.json; a write that fails is logged (the request itself went ahead). */
  private record(job: Job): void {
    this.#jobs = withJob(this.jobs(), job);
    try {
      writeEditorFile(this.o.folder, EDITOR_FILES.jobs, { version: EDITOR_FORMAT_VERSION, jobs: this.#jobs });
    } catch (err) {
      this.o.logger.warn(`EDITOR_DIR: could not write ${EDITOR_FILES.jobs} (${(err as Error).message})`);
    }
  }

  private stamp(): string {
    return isoTime(this.#now()); // the service's: no V8 Date formatting (util/iso-time.ts)
  }
}

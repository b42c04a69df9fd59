/** The editor's jobs and the one decision about a requested renewal (src/editor/jobs.ts). */
import { decideRenewRequest, MAX_JOBS, withJob, type Job } from '../../src/editor/jobs';

const at = (iso: string) => new Date(iso);
const job = (id: string, state: Job['state'] = 'running'): Job => ({ id, action: 'renew', state, message: '', requestedAt: '2026-12-01T10:00:00.000Z' });

describe('decideRenewRequest', () => {
  const interval = 600_000;
  test('allows the first one', () => {
    expect(decideRenewRequest({ now: at('2026-12-01T10:00:00Z'), running: false, intervalMs: interval }).allowed).toBe(true);
  });
  test('refuses while a renewal runs, saying so', () => {
    const d = decideRenewRequest({ now: at('2026-12-01T10:00:00Z'), running: true, intervalMs: interval });
    expect(d).toMatchObject({ allowed: false });
    expect(d.reason).toMatch(/already running/);
  });
  test('refuses within EDITOR_RENEW_INTERVAL of the last one, saying when it is possible', () => {
    const d = decideRenewRequest({ now: at('2026-12-01T10:04:00Z'), running: false, lastEditorRenewalAt: at('2026-12-01T10:00:00Z'), intervalMs: interval });
    expect(d.allowed).toBe(false);
    expect(!d.allowed && d.retryAt?.toISOString()).toBe('2026-12-01T10:10:00.000Z');
    expect(d.reason).toMatch(/possible from 2026-12-01T10:10:00.000Z \(in 6 minutes; EDITOR_RENEW_INTERVAL is 600 s\)/);
  });
  test('allows again once the interval has passed, and always with an interval of 0', () => {
    expect(decideRenewRequest({ now: at('2026-12-01T10:10:00Z'), running: false, lastEditorRenewalAt: at('2026-12-01T10:00:00Z'), intervalMs: interval }).allowed).toBe(true);
    expect(decideRenewRequest({ now: at('2026-12-01T10:00:01Z'), running: false, lastEditorRenewalAt: at('2026-12-01T10:00:00Z'), intervalMs: 0 }).allowed).toBe(true);
  });
  test('an unreadable last time does not block', () => {
    expect(decideRenewRequest({ now: at('2026-12-01T10:00:00Z'), running: false, lastEditorRenewalAt: new Date('garbage'), intervalMs: interval }).allowed).toBe(true);
  });
});

describe('withJob', () => {
  test('replaces the job of the same id in place and keeps the last MAX_JOBS, newest last', () => {
    let jobs: Job[] = [];
    for (let i = 0; i < MAX_JOBS + 5; i++) jobs = withJob(jobs, job(`job-${i}`));
    expect(jobs).toHaveLength(MAX_JOBS);
    expect(jobs[0].id).toBe('job-5');
    expect(jobs.at(-1)!.id).toBe(`job-${MAX_JOBS + 4}`);
    jobs = withJob(jobs, job('job-10', 'succeeded'));
    expect(jobs).toHaveLength(MAX_JOBS);
    expect(jobs.find((j) => j.id === 'job-10')!.state).toBe('succeeded');
    expect(jobs.at(-1)!.id).toBe(`job-${MAX_JOBS + 4}`);
  });
});

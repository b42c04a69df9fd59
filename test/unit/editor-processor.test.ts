/**
 * The spool processor (src/editor/processor.ts) over a real spool folder and in-memory actions
 * and clock: one renewal at a time, EDITOR_RENEW_INTERVAL kept across processors (the service
 * restarting, or the timer's one-shot runs), client jobs with their download, failures as failed
 * jobs, the password in no job, and one log line per request.
 */
import { mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../src/log';
import { requestsDir, type EditorFolder } from '../../src/editor/folder';
import type { Job } from '../../src/editor/jobs';
import { SpoolProcessor, type ActionResult, type SpoolActions } from '../../src/editor/processor';
import { makeTempDir, removeTempDir } from './store/pki';

let tmp: string;
let folder: EditorFolder;
let lines: string[];
let clock: Date;
const logger = {
  info: (a: unknown, b?: string) => lines.push(`info ${b ?? a}`),
  warn: (a: unknown, b?: string) => lines.push(`warn ${b ?? a}`),
  error: (a: unknown, b?: string) => lines.push(`error ${b ?? a}`),
  debug: () => undefined,
} as unknown as Logger;

beforeEach(() => {
  tmp = makeTempDir('nrcert-processor-');
  folder = { dir: join(tmp, 'editor') };
  mkdirSync(requestsDir(folder), { recursive: true });
  lines = [];
  clock = new Date('2026-12-01T10:00:00Z');
});
afterEach(() => removeTempDir(tmp));

/** Actions whose renewal ends when the test says so. */
function fakeActions(): SpoolActions & { finishRenewal(result: ActionResult): void; renewals: number; added: Array<{ name: string; download: string }> } {
  let finish: ((r: ActionResult) => void) | undefined;
  const actions = {
    renewals: 0,
    added: [] as Array<{ name: string; download: string }>,
    renewalRunning: () => false,
    renew: () => {
      actions.renewals++;
      return new Promise<ActionResult>((resolve) => (finish = resolve));
    },
    clientAdd: async (request: { name: string }, download: string) => {
      actions.added.push({ name: request.name, download });
      return { ok: true, message: `Issued "${request.name}"` };
    },
    clientRevoke: async (serial: string): Promise<ActionResult> => {
      throw new Error(`no certificate ${serial}`);
    },
    finishRenewal: (result: ActionResult) => finish!(result),
  };
  return actions;
}

function processor(actions: SpoolActions, intervalMs = 600_000): SpoolProcessor {
  return new SpoolProcessor({ folder, stateDir: join(tmp, 'state'), renewIntervalMs: intervalMs, actions, logger, now: () => clock });
}

function drop(id: string, body: Record<string, unknown>): void {
  const tmpName = join(requestsDir(folder), `${id}.json.tmp`);
  writeFileSync(tmpName, JSON.stringify({ version: 1, id, ...body }));
  renameSync(tmpName, join(requestsDir(folder), `${id}.json`));
}

const jobs = (): Job[] => (JSON.parse(readFileSync(join(folder.dir, 'jobs.json'), 'utf8')) as { version: number; jobs: Job[] }).jobs;
const job = (id: string) => jobs().find((j) => j.id === id);

test('one renewal at a time: a second request while it runs is refused, and the first ends as its action says', async () => {
  const actions = fakeActions();
  const p = processor(actions);
  drop('renew-aaaa-0001', { action: 'renew' });
  await p.scan();
  expect(job('renew-aaaa-0001')).toMatchObject({ state: 'running', startedAt: clock.toISOString() });
  drop('renew-bbbb-0002', { action: 'renew' });
  await p.scan();
  expect(job('renew-bbbb-0002')).toMatchObject({ state: 'refused' });
  expect(job('renew-bbbb-0002')!.message).toMatch(/already running/);
  expect(actions.renewals).toBe(1);
  clock = new Date('2026-12-01T10:01:00Z');
  actions.finishRenewal({ ok: true, message: 'The certificate was renewed.' });
  await p.idle();
  expect(job('renew-aaaa-0001')).toMatchObject({ state: 'succeeded', message: 'The certificate was renewed.', finishedAt: clock.toISOString() });
  expect(readdirSync(requestsDir(folder))).toEqual([]);
});

test('EDITOR_RENEW_INTERVAL holds across processors (a restarted service, the timer\'s next one-shot run)', async () => {
  const first = fakeActions();
  const p1 = processor(first);
  drop('renew-aaaa-0001', { action: 'renew' });
  await p1.scan();
  first.finishRenewal({ ok: false, message: 'The renewal failed: DNS.' });
  await p1.idle();
  expect(job('renew-aaaa-0001')!.state).toBe('failed');
  clock = new Date('2026-12-01T10:05:00Z');
  const second = fakeActions();
  const p2 = processor(second);
  drop('renew-cccc-0003', { action: 'renew' });
  await p2.scan();
  expect(job('renew-cccc-0003')!.message).toMatch(/possible from 2026-12-01T10:10:00.000Z/);
  expect(second.renewals).toBe(0);
  clock = new Date('2026-12-01T10:10:00Z');
  drop('renew-dddd-0004', { action: 'renew' });
  await p2.scan();
  expect(second.renewals).toBe(1);
  expect(jobs().map((j) => j.id)).toEqual(['renew-aaaa-0001', 'renew-cccc-0003', 'renew-dddd-0004']); // kept from the first processor
});

test('a renewal already running elsewhere in the service (the schedule) refuses the request', async () => {
  const actions = { ...fakeActions(), renewalRunning: () => true };
  drop('renew-aaaa-0001', { action: 'renew' });
  await processor(actions).scan();
  expect(job('renew-aaaa-0001')!.state).toBe('refused');
});

test('client-add gets its download, a failing action becomes a failed job, the password is in no job and no log line', async () => {
  const actions = fakeActions();
  const p = processor(actions);
  drop('add-aaaa-0001', { action: 'client-add', name: 'phone', password: 'sentinel-PASSWORD-77' });
  drop('revoke-aaaa-0002', { action: 'client-revoke', serial: 'abcdef' });
  await p.scan();
  expect(actions.added).toEqual([{ name: 'phone', download: 'add-aaaa-0001.p12' }]);
  expect(job('add-aaaa-0001')).toMatchObject({ state: 'succeeded', download: 'add-aaaa-0001.p12' });
  expect(job('revoke-aaaa-0002')).toMatchObject({ state: 'failed', message: 'no certificate abcdef' });
  expect(readFileSync(join(folder.dir, 'jobs.json'), 'utf8')).not.toContain('sentinel-PASSWORD-77');
  expect(lines.join('\n')).not.toContain('sentinel-PASSWORD-77');
});

test('malformed requests: one warning each naming the file, removed, a refused job when the id is readable; a reused id is ignored', async () => {
  const actions = fakeActions();
  const p = processor(actions);
  writeFileSync(join(requestsDir(folder), 'notjson-0001.json'), 'renew');
  writeFileSync(join(requestsDir(folder), 'x.json'), '{}');
  writeFileSync(join(requestsDir(folder), 'junk.txt'), 'junk');
  await p.scan();
  expect(lines.filter((l) => l.startsWith('warn editor request'))).toEqual([
    'warn editor request junk.txt refused: the name is not <id>.json with an id of 8 to 64 letters, digits or dashes; nothing was done and the file was removed',
    'warn editor request notjson-0001.json refused: it is not JSON; nothing was done and the file was removed',
    'warn editor request x.json refused: the name is not <id>.json with an id of 8 to 64 letters, digits or dashes; nothing was done and the file was removed',
  ]);
  expect(jobs()).toEqual([expect.objectContaining({ id: 'notjson-0001', state: 'refused', action: 'unknown' })]);
  expect(readdirSync(requestsDir(folder))).toEqual([]);
  drop('notjson-0001', { action: 'renew' });
  await p.scan();
  expect(actions.renewals).toBe(0);
  expect(lines.at(-1)).toMatch(/notjson-0001\.json refused: its id was used before/);
});

test('a .json.tmp still being written is left alone until it is stale', async () => {
  const p = processor(fakeActions());
  writeFileSync(join(requestsDir(folder), 'renew-aaaa-0001.json.tmp'), '{"version":1');
  await p.scan();
  expect(readdirSync(requestsDir(folder))).toEqual(['renew-aaaa-0001.json.tmp']);
  clock = new Date(Date.now() + 11 * 60_000);
  await p.scan();
  expect(readdirSync(requestsDir(folder))).toEqual([]);
});

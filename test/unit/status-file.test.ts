import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NrcertError } from '../../src/errors';
import { escapeLabelValue, renderMetrics, writeStatusFiles, type ServiceStatus } from '../../src/service/status-file';
import { makeTempDir, removeTempDir } from '../helpers/tmp';

const FULL: ServiceStatus = {
  updatedAt: '2026-01-10T12:00:05.000Z',
  certificate: {
    names: ['example.com', '*.example.com'],
    notBefore: '2026-01-01T00:00:00.000Z',
    notAfter: '2026-04-01T00:00:00.000Z',
    serial: '03a1b2c3d4',
    fingerprint256: 'AB:CD:EF',
    dueAt: '2026-03-02T00:00:00.000Z',
  },
  lastRun: { at: '2026-01-10T12:00:00.000Z', outcome: 'failed', message: 'the Cloudflare API refused the token', exitCode: 5 },
  lastSuccessAt: '2026-01-09T12:00:00.500Z',
  failuresTotal: 7,
  consecutiveFailures: 2,
  nextAttemptAt: '2026-01-10T18:00:00.000Z',
};

const EMPTY: ServiceStatus = {
  updatedAt: '2026-01-10T12:00:05.000Z',
  certificate: null,
  lastRun: null,
  lastSuccessAt: null,
  failuresTotal: 0,
  consecutiveFailures: 0,
  nextAttemptAt: null,
};

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * A strict reader of the Prometheus text format for what nrcert writes: every line is a HELP, a
 * TYPE or a sample `name{labels} value`; every sample's family has HELP and TYPE before it.
 */
function parseTextfile(text: string): { samples: Sample[]; types: Record<string, string>; help: Record<string, string> } {
  expect(text.endsWith('\n')).toBe(true);
  const types: Record<string, string> = {};
  const help: Record<string, string> = {};
  const samples: Sample[] = [];
  const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`;
  const sampleRe = new RegExp(`^(${NAME})(?:\\{(${LABEL}(?:,${LABEL})*)\\})? (\\S+)$`);
  for (const line of text.slice(0, -1).split('\n')) {
    let m: RegExpMatchArray | null;
    if ((m = line.match(new RegExp(`^# HELP (${NAME}) (.+)$`)))) {
      help[m[1]!] = m[2]!;
    } else if ((m = line.match(new RegExp(`^# TYPE (${NAME}) (gauge|counter)$`)))) {
      expect(help[m[1]!]).toBeDefined(); // HELP first
      types[m[1]!] = m[2]!;
    } else if ((m = line.match(sampleRe))) {
      const [, name, labelText, value] = m;
      expect(types[name!]).toBeDefined();
      const labels: Record<string, string> = {};
      for (const l of (labelText ?? '').matchAll(new RegExp(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\\]|\\\\.)*)"`, 'g'))) {
        labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
      }
      expect(Number.isFinite(Number(value))).toBe(true);
      samples.push({ name: name!, labels, value: Number(value) });
    } else {
      throw new Error(`not a valid exposition line: ${JSON.stringify(line)}`);
    }
  }
  return { samples, types, help };
}

const value = (samples: Sample[], name: string) => samples.find((s) => s.name === name)?.value;

describe('renderMetrics', () => {
  it('writes every metric with HELP, TYPE and Unix-second values, the names as a label on certificate metrics', () => {
    const { samples, types } = parseTextfile(renderMetrics(FULL));
    expect(Object.keys(types).sort()).toEqual([
      'nrcert_certificate_expiry_seconds',
      'nrcert_certificate_not_before_seconds',
      'nrcert_consecutive_failures',
      'nrcert_last_renewal_success_timestamp_seconds',
      'nrcert_last_run_success',
      'nrcert_last_run_timestamp_seconds',
      'nrcert_next_attempt_timestamp_seconds',
      'nrcert_renewal_due_seconds',
      'nrcert_renewal_failures_total',
    ]);
    expect(types.nrcert_renewal_failures_total).toBe('counter');
    expect(types.nrcert_certificate_expiry_seconds).toBe('gauge');
    const names = { names: 'example.com,*.example.com' };
    expect(samples.filter((s) => s.name.startsWith('nrcert_certificate_') || s.name === 'nrcert_renewal_due_seconds').map((s) => s.labels)).toEqual([names, names, names]);
    expect(value(samples, 'nrcert_certificate_expiry_seconds')).toBe(Date.parse('2026-04-01T00:00:00Z') / 1000);
    expect(value(samples, 'nrcert_certificate_not_before_seconds')).toBe(Date.parse('2026-01-01T00:00:00Z') / 1000);
    expect(value(samples, 'nrcert_renewal_due_seconds')).toBe(Date.parse('2026-03-02T00:00:00Z') / 1000);
    expect(value(samples, 'nrcert_last_run_timestamp_seconds')).toBe(Date.parse('2026-01-10T12:00:00Z') / 1000);
    expect(value(samples, 'nrcert_last_renewal_success_timestamp_seconds')).toBe(Date.parse('2026-01-09T12:00:00.5Z') / 1000);
    expect(value(samples, 'nrcert_last_run_success')).toBe(0);
    expect(value(samples, 'nrcert_renewal_failures_total')).toBe(7);
    expect(value(samples, 'nrcert_consecutive_failures')).toBe(2);
    expect(value(samples, 'nrcert_next_attempt_timestamp_seconds')).toBe(Date.parse('2026-01-10T18:00:00Z') / 1000);
    expect(samples).toHaveLength(9);
  });

  it('counts a renewal and a not-due check as success, a failure and a rollback not', () => {
    const success = (outcome: NonNullable<ServiceStatus['lastRun']>['outcome']) =>
      value(parseTextfile(renderMetrics({ ...FULL, lastRun: { ...FULL.lastRun!, outcome } })).samples, 'nrcert_last_run_success');
    expect([success('renewed'), success('skipped'), success('failed'), success('rolled_back')]).toEqual([1, 1, 0, 0]);
  });

  it('leaves out what is not known yet and still writes the counters', () => {
    const { samples, types } = parseTextfile(renderMetrics(EMPTY));
    expect(samples).toEqual([
      { name: 'nrcert_renewal_failures_total', labels: {}, value: 0 },
      { name: 'nrcert_consecutive_failures', labels: {}, value: 0 },
    ]);
    expect(Object.keys(types)).toEqual(['nrcert_renewal_failures_total', 'nrcert_consecutive_failures']);
  });

  it('escapes label values as the exposition format requires', () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
    const odd = { ...FULL, certificate: { ...FULL.certificate!, names: ['we"ird\\name\n.test'] } };
    const { samples } = parseTextfile(renderMetrics(odd));
    expect(samples.find((s) => s.name === 'nrcert_certificate_expiry_seconds')!.labels).toEqual({ names: 'we"ird\\name\n.test' });
  });
});

describe('writeStatusFiles', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await makeTempDir('status');
  });
  afterEach(() => removeTempDir(dir));

  it('writes status.json (0644) and the metrics file (0644), leaving no temporary file behind', async () => {
    const stateDir = join(dir, 'state');
    const textfileDir = join(dir, 'textfile');
    await mkdir(textfileDir);
    const metricsFile = join(textfileDir, 'nrcert.prom');
    await writeStatusFiles({ stateDir, metricsFile }, FULL);

    expect(JSON.parse(await readFile(join(stateDir, 'status.json'), 'utf8'))).toEqual(FULL);
    expect((await stat(join(stateDir, 'status.json'))).mode & 0o777).toBe(0o644);
    expect((await stat(metricsFile)).mode & 0o777).toBe(0o644);
    expect(await readFile(metricsFile, 'utf8')).toBe(renderMetrics(FULL));
    expect(await readdir(textfileDir)).toEqual(['nrcert.prom']);
    expect(await readdir(stateDir)).toEqual(['status.json']);
  });

  it('replaces both files on the next write', async () => {
    const metricsFile = join(dir, 'nrcert.prom');
    await writeStatusFiles({ stateDir: dir, metricsFile }, EMPTY);
    await writeStatusFiles({ stateDir: dir, metricsFile }, FULL);
    expect(JSON.parse(await readFile(join(dir, 'status.json'), 'utf8')).failuresTotal).toBe(7);
    expect(value(parseTextfile(await readFile(metricsFile, 'utf8')).samples, 'nrcert_renewal_failures_total')).toBe(7);
  });

  it('writes no metrics file without METRICS_FILE', async () => {
    await writeStatusFiles({ stateDir: dir }, FULL);
    expect(await readdir(dir)).toEqual(['status.json']);
  });

  it('names METRICS_FILE when its directory is missing, after writing status.json', async () => {
    const metricsFile = join(dir, 'missing', 'nrcert.prom');
    const write = writeStatusFiles({ stateDir: dir, metricsFile }, FULL);
    await expect(write).rejects.toThrow(NrcertError);
    await expect(writeStatusFiles({ stateDir: dir, metricsFile }, FULL)).rejects.toThrow(/^METRICS_FILE: cannot write .*nrcert\.prom \(ENOENT\)/);
    expect(await readdir(dir)).toEqual(['status.json']);
  });

  it('names STATE_DIR when status.json cannot be written there', async () => {
    const notADir = join(dir, 'plain-file');
    await writeFile(notADir, '');
    await expect(writeStatusFiles({ stateDir: join(notADir, 'state') }, FULL)).rejects.toThrow(/^STATE_DIR: cannot write .*status\.json \(ENOTDIR\)/);
  });
});


/**
 * Status for machines and people, written after every scheduler tick: STATE_DIR/status.json
 * (what `nrcert run` knows, for scripts and dashboards) and, when METRICS_FILE is set, a
 * Prometheus file for node_exporter's textfile collector
 * (https://github.com/prometheus/node_exporter#textfile-collector).
 */
import { NrcertError } from '../errors';
import { replaceAsFolderOwner } from '../store/state';
import { statePath } from '../store/state-dir';
import type { RunOutcome } from '../renewal/state';

/** What the service knows after a tick; no secrets, so status.json may be world-readable. */
export interface ServiceStatus {
  updatedAt: string;
  certificate: {
    names: string[];
    notBefore: string;
    notAfter: string;
    serial: string;
    fingerprint256: string;
    /** When the renewal policy considers it due. */
    dueAt: string;
  } | null;
  lastRun: {
    at: string;
    outcome: RunOutcome;
    message: string;
    exitCode: number;
  } | null;
  /** When a run last ended well: renewed, or checked and not due. */
  lastSuccessAt: string | null;
  /** Failed renewals since the state was created (persisted; a Prometheus counter). */
  failuresTotal: number;
  consecutiveFailures: number;
  nextAttemptAt: string | null;
  /** TXT records the last run could not remove (the next run sweeps them). */
  leftoverRecords?: string[];
}

/** Where status.json goes (STATE_DIR) and, optionally, the metrics file (METRICS_FILE). */
export interface StatusFileOptions {
  stateDir: string;
  metricsFile?: string;
}

/**
 * Writes STATE_DIR/status.json and, when METRICS_FILE is set, the metrics file. Each is replaced
 * atomically (a temporary file in the same directory, then rename), as the textfile collector
 * requires: it never reads a half-written file, and ignores the temporary one (not `*.prom`).
 * A failure is an NrcertError naming the setting; the caller logs it and carries on. Run as root,
 * each is written as the owner of its folder, like every file nrcert keeps.
 */
export async function writeStatusFiles(opts: StatusFileOptions, status: ServiceStatus): Promise<void> {
  const statusPath = statePath(opts.stateDir, 'status');
  try {
    replaceAsFolderOwner(statusPath, `${JSON.stringify(status, null, 2)}\n`, 0o644, { makeDir: true });
  } catch (err) {
    throw new NrcertError(`STATE_DIR: cannot write ${statusPath} (${codeOf(err)}); check that the directory is writable by nrcert`, { cause: err });
  }
  if (!opts.metricsFile) return;
  try {
    replaceAsFolderOwner(opts.metricsFile, renderMetrics(status), 0o644);
  } catch (err) {
    throw new NrcertError(`METRICS_FILE: cannot write ${opts.metricsFile} (${codeOf(err)}); check that its directory exists and is writable by nrcert`, { cause: err });
  }
}

function codeOf(err: unknown): string {
  return (err as NodeJS.ErrnoException | undefined)?.code ?? 'error';
}

interface Family {
  name: string;
  type: 'gauge' | 'counter';
  help: string;
  samples: { labels?: Record<string, string>; value: number }[];
}

/**
 * The status in the Prometheus text exposition format
 * (https://prometheus.io/docs/instrumenting/exposition_formats/): HELP and TYPE before each
 * family's samples; a family with nothing to report (no certificate yet, no run yet) is left out.
 * Timestamps are Unix seconds, so `nrcert_certificate_expiry_seconds - time()` is the time left.
 */
export function renderMetrics(status: ServiceStatus): string {
  const cert = status.certificate;
  const certLabels = cert ? { names: cert.names.join(',') } : undefined;
  const at = (iso: string | null | undefined, labels?: Record<string, string>) => (iso ? [{ labels, value: unixSeconds(iso) }] : []);
  const run = status.lastRun;
  const families: Family[] = [
    { name: 'nrcert_certificate_expiry_seconds', type: 'gauge', help: 'Unix time when the installed certificate expires (notAfter).', samples: at(cert?.notAfter, certLabels) },
    { name: 'nrcert_certificate_not_before_seconds', type: 'gauge', help: 'Unix time from which the installed certificate is valid (notBefore).', samples: at(cert?.notBefore, certLabels) },
    { name: 'nrcert_renewal_due_seconds', type: 'gauge', help: 'Unix time when the installed certificate is due for renewal.', samples: at(cert?.dueAt, certLabels) },
    { name: 'nrcert_last_run_timestamp_seconds', type: 'gauge', help: 'Unix time of the last renewal check.', samples: at(run?.at) },
    { name: 'nrcert_last_run_success', type: 'gauge', help: '1 when the last renewal check succeeded (renewed or not due), 0 when it failed or rolled back.', samples: run ? [{ value: run.outcome === 'renewed' || run.outcome === 'skipped' ? 1 : 0 }] : [] },
    { name: 'nrcert_last_renewal_success_timestamp_seconds', type: 'gauge', help: 'Unix time of the last run that ended well (renewed, or not due yet).', samples: at(status.lastSuccessAt) },
    { name: 'nrcert_renewal_failures_total', type: 'counter', help: 'Failed renewals, counted across restarts.', samples: [{ value: status.failuresTotal }] },
    { name: 'nrcert_consecutive_failures', type: 'gauge', help: 'Failed renewals since the last success.', samples: [{ value: status.consecutiveFailures }] },
    { name: 'nrcert_next_attempt_timestamp_seconds', type: 'gauge', help: 'Unix time of the next renewal attempt after a failure (back-off).', samples: at(status.nextAttemptAt) },
  ];
  return families.filter((f) => f.samples.length > 0).map(renderFamily).join('');
}

function renderFamily(f: Family): string {
  const lines = [`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`];
  for (const s of f.samples) lines.push(`${f.name}${renderLabels(s.labels)} ${formatValue(s.value)}`);
  return `${lines.join('\n')}\n`;
}

function renderLabels(labels?: Record<string, string>): string {
  if (!labels) return '';
  return `{${Object.entries(labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`;
}

/** Label values escape backslash, double quote and line feed (exposition format). */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function unixSeconds(iso: string): number {
  return Date.parse(iso) / 1000;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  return Number.isInteger(value) ? value.toFixed(0) : String(value);
}

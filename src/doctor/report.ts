import type { CheckResult, CheckStatus } from './types';
import { nrcertCommand } from '../util/hint';

const MARKS: Record<CheckStatus, string> = { ok: '✓', fail: '✗', warn: '!', skip: '-' };

/** True when no check failed (warnings and skips do not count): doctor's exit status. */
export function allPassed(results: CheckResult[]): boolean {
  return results.every((r) => r.status !== 'fail');
}

/** `doctor --json`: `{ ok, checks: [{ id, status, message, fix? }] }`. */
export function formatJson(results: CheckResult[]): string {
  return `${JSON.stringify({ ok: allPassed(results), checks: results }, null, 2)}\n`;
}

/**
 * The checklist for people: one line per check (✓ ok, ✗ failed, ! warning, - skipped), the
 * fix on the line below each failure or warning, then a count.
 */
export function formatText(results: CheckResult[]): string {
  const width = Math.max(...results.map((r) => r.id.length));
  const lines: string[] = [];
  for (const r of results) {
    lines.push(`${MARKS[r.status]} ${r.id.padEnd(width)}  ${r.message}`);
    if (r.fix) lines.push(`  ${' '.repeat(width)}  ${r.status === 'skip' ? 'hint' : 'fix'}: ${r.fix}`);
  }
  const count = (s: CheckStatus) => results.filter((r) => r.status === s).length;
  const parts = [`${count('fail')} failed`, `${count('warn')} warning${count('warn') === 1 ? '' : 's'}`, `${count('skip')} skipped`, `${count('ok')} ok`];
  lines.push('', allPassed(results) ? `No check failed (${parts.slice(1).join(', ')}).` : `${parts.join(', ')}: fix the ✗ lines above, then run ${nrcertCommand('doctor')} again.`);
  return `${lines.join('\n')}\n`;
}

/**
 * Which lineage Node-RED took, as pure decisions over a small record (kept in the renewal
 * state). A lineage is *live* once its activation passed (restart hook, and with NODE_RED_URL
 * the served certificate seen); one whose activation failed is *failed* and never chosen again
 * by a rollback; the *previous* lineage is the one a rollback goes back to: the last live one
 * other than the current. Before any activation was recorded (an install from an older nrcert),
 * the newest older lineage that did not fail stands in for it.
 */

/** The record of activations. */
export interface LineageRecord {
  /** Lineages that were live, oldest first; the last is live now unless a rollback changed it. */
  history: string[];
  /** Lineages whose activation failed. */
  failed: string[];
  /**
   * Written before the swap and cleared when activation ended: a run that dies between the two
   * (SIGKILL, power cut) leaves it, and the next run finishes the activation.
   */
  pending?: { fingerprint256: string; id?: string; since: string };
}

/** What `status` calls each lineage. */
export type LineageState = 'live' | 'previous' | 'failed' | 'archived';

/** A record with nothing in it. */
export function emptyRecord(): LineageRecord {
  return { history: [], failed: [] };
}

/** `id` was activated: it is live, not failed, and no activation is pending. */
export function markLive(record: LineageRecord, id: string): LineageRecord {
  return { history: [...record.history.filter((h) => h !== id), id].slice(-20), failed: record.failed.filter((f) => f !== id) };
}

/** `id`'s activation failed: it is never chosen by a rollback again. */
export function markFailed(record: LineageRecord, id: string): LineageRecord {
  const { pending: _pending, ...rest } = record;
  return { ...rest, failed: [...record.failed.filter((f) => f !== id), id].slice(-20) };
}

/** An activation of the set with this fingerprint is about to start. */
export function markPending(record: LineageRecord, fingerprint256: string, since: Date, id?: string): LineageRecord {
  return { ...record, pending: { fingerprint256, since: since.toISOString(), ...(id ? { id } : {}) } };
}

/** The activation ended (either way) without a verdict on the lineage. */
export function clearPending(record: LineageRecord): LineageRecord {
  const { pending: _pending, ...rest } = record;
  return rest;
}

/**
 * The lineages a rollback from `currentId` may go to, best first: the live ones in reverse order
 * of activation, then (only while no activation was ever recorded) older lineages newest first.
 * Failed lineages and ones no longer present are never offered.
 */
export function rollbackCandidates(record: LineageRecord, present: string[], currentId: string | null): string[] {
  const usable = (id: string) => id !== currentId && present.includes(id) && !record.failed.includes(id);
  const live = [...record.history].reverse().filter(usable);
  if (record.history.length > 0) return live;
  const older = present.filter((id) => currentId === null || id < currentId).reverse();
  return older.filter(usable);
}

/** Each lineage's state for `status`: the current is live, the first rollback candidate is previous. */
export function lineageStates(record: LineageRecord, present: string[], currentId: string | null): Map<string, LineageState> {
  const previous = rollbackCandidates(record, present, currentId)[0];
  const states = new Map<string, LineageState>();
  for (const id of present) {
    if (id === currentId) states.set(id, 'live');
    else if (id === previous) states.set(id, 'previous');
    else if (record.failed.includes(id)) states.set(id, 'failed');
    else states.set(id, 'archived');
  }
  return states;
}

/** The lineages an install must not prune: the rollback candidates that matter most. */
export function protectedLineages(record: LineageRecord, present: string[], currentId: string | null): string[] {
  const keep = rollbackCandidates(record, present, currentId).slice(0, 2);
  return currentId ? [currentId, ...keep] : keep;
}

/**
 * What the `nrcert events` node decides, as pure functions: which events in events.json are
 * new, and which status dot the published status earns.
 */
'use strict';

const DAY_MS = 86_400_000;

/** One event's identity: nrcert stamps every event with its time, type and names. */
function eventKey(event) {
  return JSON.stringify([event.at, event.type, event.names, event.lineage, event.notAfter, event.error]);
}

/** The events of `file` (events.json's content, or null) that are not in `seen`, oldest first; adds them to `seen`. */
function newEvents(file, seen) {
  const events = file && Array.isArray(file.events) ? file.events.filter((e) => e && typeof e.type === 'string') : [];
  const fresh = events.filter((e) => !seen.has(eventKey(e)));
  for (const e of fresh) seen.add(eventKey(e));
  // events.json keeps the last 50: forget keys that left it, so `seen` stays as small.
  if (seen.size > 200) {
    const keep = new Set(events.map(eventKey));
    for (const k of seen) if (!keep.has(k)) seen.delete(k);
  }
  return fresh;
}

/** True when the service's last run (status.json's `service.lastRun`) failed or rolled back. */
function lastRunFailed(service) {
  const outcome = service && service.lastRun && service.lastRun.outcome;
  return outcome === 'failed' || outcome === 'rolled_back';
}

/**
 * The node's status dot from status.json's `status` and `service`, and the latest events:
 * red "failed" when the last renewal attempt failed, yellow "due" when a renewal is due,
 * green "valid N d" otherwise; grey when nrcert has published nothing yet.
 */
function statusDot(status, events, now = Date.now(), service = undefined) {
  const cert = status && Array.isArray(status.certificates) ? status.certificates[0] : undefined;
  if (!cert) return { fill: 'grey', shape: 'ring', text: status ? 'no certificate' : 'no status yet' };
  const attempts = (events || []).filter((e) => e.type === 'renewed' || e.type === 'renewal_failed' || e.type === 'rollback');
  const last = attempts[attempts.length - 1];
  const notAfter = Date.parse(cert.notAfter);
  const days = Math.floor((notAfter - now) / DAY_MS);
  if (service && service.lastRun) {
    if (lastRunFailed(service)) return { fill: 'red', shape: 'dot', text: service.lastRun.outcome === 'rolled_back' ? 'rolled back' : 'failed' };
  } else if (last && last.type !== 'renewed' && !(Date.parse(cert.notBefore) > Date.parse(last.at))) {
    return { fill: 'red', shape: 'dot', text: last.type === 'rollback' ? 'rolled back' : 'failed' };
  }
  if (notAfter <= now) return { fill: 'red', shape: 'dot', text: 'expired' };
  if (cert.due || (cert.dueAt && Date.parse(cert.dueAt) <= now)) return { fill: 'yellow', shape: 'dot', text: `due (${days} d left)` };
  return { fill: 'green', shape: 'dot', text: `valid ${days} d` };
}

module.exports = { newEvents, statusDot, eventKey };

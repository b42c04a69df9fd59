/**
 * The admin endpoints under the editor's admin root (`/nrcert/...`). Reading needs `nrcert.read`
 * (every adminAuth user with "read" has it), acting needs `nrcert.write`. They read only the
 * files nrcert publishes in EDITOR_DIR and write only requests into its spool; the Cloudflare
 * token and every key stay with nrcert.
 */
'use strict';
const { readPublished, EditorDirError } = require('./editor-dir');
const spool = require('./spool');

/** HTTP status of each EditorDirError code. */
const STATUS = { not_configured: 503, unreadable: 503, unsafe: 500, malformed: 500, no_spool: 503, bad_request: 400 };

function sendError(res, err, log) {
  if (err instanceof EditorDirError) {
    res.status(STATUS[err.code] || 500).json({ error: err.code, message: err.message });
  } else {
    log.warn(`nrcert: ${err && err.message}`);
    res.status(500).json({ error: 'internal', message: 'nrcert\'s editor plugin failed; see the Node-RED log' });
  }
}

/** `handler(req)` → a JSON body; errors become a JSON error with a message to show. */
function route(handler, log) {
  return (req, res) => {
    try {
      const out = handler(req);
      res.status(out.status || 200).json(out.body);
    } catch (err) {
      sendError(res, err, log);
    }
  };
}

function notPublished(what) {
  return { status: 404, body: { error: 'not_published', message: `nrcert has not published ${what} yet: it does after its next run (nrcert renew, or the service)` } };
}

/** The job `id` from jobs.json; a request still waiting in the spool is `queued`. */
function findJob(dir, id) {
  const jobs = readPublished(dir, 'jobs.json');
  const job = jobs && Array.isArray(jobs.jobs) ? jobs.jobs.filter((j) => j && j.id === id).pop() : undefined;
  if (job) return job;
  if (spool.isQueued(dir, id)) return { id, state: 'queued', message: 'Waiting for nrcert to pick the request up' };
  return undefined;
}

/** Registers the routes on RED.httpAdmin. `editorDir()` answers EDITOR_DIR (or null). */
function registerAdminRoutes(RED, editorDir) {
  const app = RED.httpAdmin;
  const read = RED.auth.needsPermission('nrcert.read');
  const write = RED.auth.needsPermission('nrcert.write');
  const log = RED.log;
  const handedOut = new Set();

  app.get('/nrcert/status', read, route(() => {
    const file = readPublished(editorDir(), 'status.json');
    return file ? { body: file.status } : notPublished('the certificate status');
  }, log));
  // The service's own record of its runs (last run, back-off); status --json does not carry it.
  app.get('/nrcert/service', read, route(() => {
    const file = readPublished(editorDir(), 'status.json');
    return file ? { body: file.service || null } : notPublished('the service\'s state');
  }, log));
  app.get('/nrcert/doctor', read, route(() => {
    const file = readPublished(editorDir(), 'doctor.json');
    return file ? { body: { publishedAt: file.publishedAt, ok: file.ok, checks: file.checks || [], audit: file.audit || [] } } : notPublished('the doctor\'s checks');
  }, log));
  app.get('/nrcert/events', read, route(() => {
    const file = readPublished(editorDir(), 'events.json');
    return { body: { events: file && Array.isArray(file.events) ? file.events : [] } };
  }, log));
  app.get('/nrcert/clients', read, route(() => {
    const file = readPublished(editorDir(), 'clients.json');
    return { body: file ? { configured: true, publishedAt: file.publishedAt, clients: file.clients || [] } : { configured: false, clients: [] } };
  }, log));
  app.get('/nrcert/jobs/:id', read, route((req) => {
    if (!spool.ID_RE.test(req.params.id)) return { status: 400, body: { error: 'bad_request', message: 'not a job id' } };
    const job = findJob(editorDir(), req.params.id);
    return job ? { body: job } : { status: 404, body: { error: 'not_found', message: 'nrcert knows no such job (it keeps the last 20)' } };
  }, log));

  app.post('/nrcert/renew', write, route(() => {
    const id = spool.writeRequest(requireDir(editorDir()), { action: 'renew' });
    log.info(`nrcert: renewal requested from the editor (job ${id})`);
    return { status: 202, body: { id, state: 'queued' } };
  }, log));
  app.post('/nrcert/clients', write, route((req) => {
    const name = req.body && req.body.name;
    if (typeof name !== 'string' || !spool.CLIENT_NAME_RE.test(name)) {
      return { status: 400, body: { error: 'bad_request', message: 'A client name is 1-64 letters, digits, ".", "_" or "-"' } };
    }
    const password = spool.newP12Password();
    const id = spool.writeRequest(requireDir(editorDir()), { action: 'client-add', name, password });
    log.info(`nrcert: client certificate "${name}" requested from the editor (job ${id})`);
    // The editor shows the password once; it is needed to import the .p12.
    return { status: 202, body: { id, state: 'queued', password } };
  }, log));
  app.post('/nrcert/clients/:serial/revoke', write, route((req) => {
    if (!spool.SERIAL_RE.test(req.params.serial)) return { status: 400, body: { error: 'bad_request', message: 'not a certificate serial (hex)' } };
    const id = spool.writeRequest(requireDir(editorDir()), { action: 'client-revoke', serial: req.params.serial });
    log.info(`nrcert: revocation of client certificate ${req.params.serial} requested from the editor (job ${id})`);
    return { status: 202, body: { id, state: 'queued' } };
  }, log));
  app.get('/nrcert/clients/download/:id', write, (req, res) => {
    try {
      const dir = requireDir(editorDir());
      const job = spool.ID_RE.test(req.params.id) ? findJob(dir, req.params.id) : undefined;
      if (!job || job.action !== 'client-add' || job.state !== 'succeeded' || typeof job.download !== 'string') {
        return res.status(404).json({ error: 'not_found', message: 'No certificate to download for this job' });
      }
      const bytes = spool.takeDownload(dir, job.download, handedOut);
      if (!bytes) return res.status(410).json({ error: 'gone', message: 'This .p12 was already downloaded; it is handed out once. Add the client again for a new one' });
      res.set('Content-Type', 'application/x-pkcs12');
      res.set('Content-Disposition', `attachment; filename="${job.download}"`);
      res.set('Cache-Control', 'no-store');
      res.status(200).end(bytes);
    } catch (err) {
      sendError(res, err, log);
    }
  });
}

function requireDir(dir) {
  if (!dir) readPublished(dir, 'status.json'); // throws the not_configured error
  return dir;
}

module.exports = { registerAdminRoutes };

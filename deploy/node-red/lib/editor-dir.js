/**
 * Reads what nrcert publishes for Node-RED in EDITOR_DIR (see the README): status.json,
 * doctor.json, events.json, clients.json, jobs.json. Only those names, only in that folder, never
 * through a symbolic link, never more than MAX_BYTES: nothing else nrcert owns is ever read here.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');

/** The files nrcert publishes; nothing else is ever opened for reading (the .p12 is read by spool.js). */
const PUBLISHED = new Set(['status.json', 'doctor.json', 'events.json', 'clients.json', 'jobs.json']);

/** Bigger than any file nrcert writes (50 events, 20 jobs) by far; a bigger file is refused. */
const MAX_BYTES = 1024 * 1024;

/** A problem with EDITOR_DIR a user can act on; `code` is what the admin API answers. */
class EditorDirError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'EditorDirError';
    this.code = code;
  }
}

/**
 * EDITOR_DIR from settings.js `nrcert: { editorDir }`, else NRCERT_EDITOR_DIR, else null.
 * `settings` is RED.settings; `env` is process.env (passed in so the choice is in one place).
 */
function editorDirFrom(settings, env) {
  let block;
  try {
    block = settings && settings.nrcert;
  } catch {
    block = undefined;
  }
  const dir = (block && typeof block.editorDir === 'string' && block.editorDir) || env.NRCERT_EDITOR_DIR || '';
  return dir ? path.resolve(dir) : null;
}

/** Opens `dir/name` without following a link, checks it is a small regular file, returns its bytes (null: absent). */
function readSmallFile(dir, name, maxBytes) {
  const file = path.join(dir, name);
  let fd;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (err) {
    if (err.code === 'ENOENT') return null;
    if (err.code === 'ELOOP') throw new EditorDirError('unsafe', `${file} is a symbolic link; nrcert never publishes one, so it is not read`);
    if (err.code === 'EACCES') throw new EditorDirError('unreadable', `Node-RED's user may not read ${file}: add it to the group of the editor folder (nrcert doctor says which)`);
    throw new EditorDirError('unreadable', `cannot open ${file}: ${err.code || err.message}`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new EditorDirError('unsafe', `${file} is not a regular file`);
    if (st.size > maxBytes) throw new EditorDirError('unsafe', `${file} is ${st.size} bytes, more than the ${maxBytes} nrcert ever writes`);
    const buf = Buffer.alloc(st.size);
    let at = 0;
    while (at < st.size) {
      const n = fs.readSync(fd, buf, at, st.size - at, at);
      if (n === 0) break;
      at += n;
    }
    return buf.subarray(0, at);
  } finally {
    fs.closeSync(fd);
  }
}

/** The parsed published file `name` (version 1), or null when nrcert has not published it yet. */
function readPublished(dir, name) {
  if (!dir) throw new EditorDirError('not_configured', 'nrcert\'s editor folder is not set: run `nrcert settings --apply --editor-plugin`, or set nrcert: { editorDir: "…" } in settings.js');
  if (!PUBLISHED.has(name)) throw new EditorDirError('unsafe', `${name} is not a file nrcert publishes`);
  const bytes = readSmallFile(dir, name, MAX_BYTES);
  if (bytes === null) return null;
  const text = bytes.toString('utf8');
  let data;
  try {
    data = JSON.parse(text);
  } catch {
    throw new EditorDirError('malformed', `${path.join(dir, name)} is not JSON (nrcert writes it atomically, so something else wrote it)`);
  }
  if (!data || typeof data !== 'object' || data.version !== 1) {
    throw new EditorDirError('malformed', `${path.join(dir, name)} is not version 1 of nrcert's format: update node-red-contrib-nrcert to nrcert's version`);
  }
  return data;
}

module.exports = { editorDirFrom, readPublished, readSmallFile, EditorDirError, MAX_BYTES };

/**
 * The spool EDITOR_DIR/requests/: the only place Node-RED writes. A request is written as
 * `<id>.json.tmp` and renamed to `<id>.json`, so nrcert never sees half a file; nrcert checks it,
 * acts, deletes it and records a job in jobs.json. A client certificate comes back as
 * `requests/<id>.p12`, handed out once by takeDownload.
 */
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { readSmallFile, EditorDirError } = require('./editor-dir');

/** Request and job ids, as nrcert accepts them. */
const ID_RE = /^[A-Za-z0-9-]{8,64}$/;
/** Client certificate names, as `nrcert clients add` accepts them (nrcert checks again). */
const CLIENT_NAME_RE = /^[A-Za-z0-9._-]{1,64}$/;
/** Certificate serials in hex, with or without colons. */
const SERIAL_RE = /^[0-9A-Fa-f][0-9A-Fa-f:]{0,127}$/;
/** nrcert refuses bigger requests. */
const MAX_REQUEST_BYTES = 4096;
/** A PKCS#12 of one key and a short chain is a few KB. */
const MAX_P12_BYTES = 64 * 1024;

/** The spool folder of `editorDir`. */
function spoolDir(editorDir) {
  return path.join(editorDir, 'requests');
}

/** A fresh request id (a UUID). */
function newId() {
  return crypto.randomUUID();
}

/** A password for a new .p12: 20 characters from 120 random bits, easy to type on a phone. */
function newP12Password() {
  return crypto.randomBytes(15).toString('base64url');
}

/**
 * Writes `request` ({action, …}; version and a fresh id are added) into the spool atomically
 * and returns its id. Throws EditorDirError when the spool is missing or not writable.
 */
function writeRequest(editorDir, request) {
  const id = newId();
  const body = `${JSON.stringify({ version: 1, id, ...request })}\n`;
  if (Buffer.byteLength(body) > MAX_REQUEST_BYTES) throw new EditorDirError('bad_request', 'the request is too big');
  const dir = spoolDir(editorDir);
  const tmp = path.join(dir, `${id}.json.tmp`);
  try {
    // wx: never write through something already there (a planted link included).
    fs.writeFileSync(tmp, body, { flag: 'wx', mode: 0o660 });
    fs.renameSync(tmp, path.join(dir, `${id}.json`));
  } catch (err) {
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* it was never created */
    }
    if (err.code === 'ENOENT') throw new EditorDirError('no_spool', `${dir} does not exist: is nrcert set up for the editor (nrcert settings --apply --editor-plugin)?`);
    if (err.code === 'EACCES' || err.code === 'EPERM') throw new EditorDirError('no_spool', `Node-RED's user may not write into ${dir}: it must be in the group of the editor folder`);
    throw new EditorDirError('no_spool', `cannot write a request into ${dir}: ${err.code || err.message}`);
  }
  return id;
}

/** True while `<id>.json` is still waiting in the spool (nrcert has not picked it up yet). */
function isQueued(editorDir, id) {
  try {
    return fs.lstatSync(path.join(spoolDir(editorDir), `${id}.json`)).isFile();
  } catch {
    return false;
  }
}

/**
 * Reads `requests/<fileName>` (the job's `download`) and deletes it, so a .p12 is handed out
 * once. Returns null when it is gone (already downloaded). When the folder's sticky bit keeps
 * Node-RED from deleting nrcert's file, `handedOut` (kept by the caller) still refuses a second
 * download and nrcert removes the file itself.
 */
function takeDownload(editorDir, fileName, handedOut) {
  if (!/^[A-Za-z0-9-]{8,64}\.p12$/.test(fileName)) throw new EditorDirError('unsafe', `${fileName} is not a download nrcert makes`);
  if (handedOut.has(fileName)) return null;
  const dir = spoolDir(editorDir);
  const bytes = readSmallFile(dir, fileName, MAX_P12_BYTES);
  if (bytes === null) return null;
  handedOut.add(fileName);
  try {
    fs.unlinkSync(path.join(dir, fileName));
  } catch {
    /* sticky spool: nrcert owns the file and removes it; handedOut refuses it meanwhile */
  }
  return bytes;
}

module.exports = { ID_RE, CLIENT_NAME_RE, SERIAL_RE, spoolDir, newP12Password, writeRequest, isQueued, takeDownload };

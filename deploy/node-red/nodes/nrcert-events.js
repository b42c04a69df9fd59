/**
 * The `nrcert events` node: sends one message per new nrcert notification (renewed,
 * renewal_failed, expiring, rollback, client_expiring) read from EDITOR_DIR/events.json, and
 * shows the certificate's state from status.json as its status dot.
 */
'use strict';
const { editorDirFrom, readPublished } = require('../lib/editor-dir');
const { newEvents, statusDot } = require('../lib/events');
const { watchEditorDir } = require('../lib/watch');

module.exports = function registerNrcertEvents(RED) {
  function NrcertEventsNode(config) {
    RED.nodes.createNode(this, config);
    const node = this;
    const dir = editorDirFrom(RED.settings, process.env);
    if (!dir) {
      node.status({ fill: 'red', shape: 'ring', text: 'no editor folder' });
      node.warn('nrcert\'s editor folder is not set: run `nrcert settings --apply --editor-plugin`, or set nrcert: { editorDir: "…" } in settings.js');
      return;
    }
    const seen = new Set();
    let lastProblem = '';
    const readOrNull = (name) => {
      try {
        const file = readPublished(dir, name);
        lastProblem = '';
        return file;
      } catch (err) {
        if (err.message !== lastProblem) node.warn(err.message);
        lastProblem = err.message;
        return undefined;
      }
    };
    let events = [];
    const check = (emit) => {
      const file = readOrNull('events.json');
      if (file === undefined) {
        node.status({ fill: 'red', shape: 'ring', text: 'cannot read' });
        return;
      }
      events = file && Array.isArray(file.events) ? file.events : [];
      const fresh = newEvents(file, seen);
      if (emit) for (const event of fresh) node.send({ topic: event.type, payload: event });
      const status = readOrNull('status.json');
      if (status !== undefined) node.status(statusDot(status && status.status, events, Date.now(), status && status.service));
    };
    // What is already in events.json happened before this node started: only later events are sent.
    check(false);
    const stop = watchEditorDir(dir, () => check(true));
    node.on('close', (done) => {
      stop();
      done();
    });
  }
  RED.nodes.registerType('nrcert-events', NrcertEventsNode);
};

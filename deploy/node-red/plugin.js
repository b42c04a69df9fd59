/**
 * node-red-contrib-nrcert's plugin: the admin endpoints the "Certificates" sidebar tab
 * (plugin.html) talks to. EDITOR_DIR comes from settings.js `nrcert: { editorDir }`, else the
 * environment's NRCERT_EDITOR_DIR.
 */
'use strict';
const { editorDirFrom } = require('./lib/editor-dir');
const { registerAdminRoutes } = require('./lib/admin');

module.exports = function nrcertPlugin(RED) {
  const editorDir = () => editorDirFrom(RED.settings, process.env);
  RED.plugins.registerPlugin('nrcert-sidebar', {
    type: 'nrcert-sidebar',
    onadd() {
      registerAdminRoutes(RED, editorDir);
    },
  });
};

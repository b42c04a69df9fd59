/**
 * The commands' side of publishing for the Node-RED editor (src/editor/): after a renewal or a
 * rollback, status.json and clients.json are published again, and after the service's and the
 * timer's runs (`renew --scheduled`) and the editor's own renewals (`renew --doctor`) the doctor
 * checklist too. Best effort: a failure is one warning, never the command's outcome.
 */
import type { ConfigSources } from '../config/config';
import type { Config } from '../config/config';
import type { Logger } from '../log';
import { describeError } from '../errors';
import { editorFolder, type EditorFolder } from '../editor/folder';
import type { CheckResult } from '../doctor/types';

/** The editor folder in use, or null (also when it cannot even be looked at: that is logged). */
export function editorFolderFor(config: Config, logger: Logger): EditorFolder | null {
  try {
    return editorFolder(config);
  } catch (err) {
    logger.warn(`EDITOR_DIR: cannot look at ${config.editor.dir} (${describeError(err)}); nothing is published for the editor`);
    return null;
  }
}

/** Publishes status.json and clients.json; logs instead of throwing. */
export async function publishForEditor(folder: EditorFolder | null, config: Config, logger: Logger): Promise<void> {
  if (!folder) return;
  const publish = require('../editor/publish') as typeof import('../editor/publish');
  try {
    await publish.publishStatus(folder, config);
    publish.publishClients(folder, config.stateDir);
  } catch (err) {
    logger.warn(`EDITOR_DIR: could not publish the status for the editor (${describeError(err)}); nrcert carries on`);
  }
}

/** Publishes doctor.json from checks already run; logs instead of throwing. */
export function publishDoctorFor(folder: EditorFolder | null, checks: CheckResult[], logger: Logger): void {
  if (!folder) return;
  try {
    (require('../editor/publish') as typeof import('../editor/publish')).publishDoctor(folder, checks);
  } catch (err) {
    logger.warn(`EDITOR_DIR: could not publish the doctor checks for the editor (${describeError(err)}); nrcert carries on`);
  }
}

/** Runs doctor's checks (as `nrcert doctor` would, settings.js found the same way) and publishes them. */
export async function publishDoctorChecks(folder: EditorFolder | null, sources: ConfigSources, logger: Logger): Promise<void> {
  if (!folder) return;
  try {
    const { doctorChecks } = require('./doctor') as typeof import('./doctor');
    publishDoctorFor(folder, await doctorChecks(sources, undefined), logger);
  } catch (err) {
    logger.warn(`EDITOR_DIR: could not run the doctor checks for the editor (${describeError(err)}); nrcert carries on`);
  }
}


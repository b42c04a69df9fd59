import { existsSync } from 'node:fs';
import { configSources, type ParsedArgs } from './args';
import { loadConfig, type ConfigSources } from '../config/config';
import type { CheckResult } from '../doctor/types';
import { editorFolderFor, publishDoctorFor } from './editor-publish';
import { createLogger } from '../log';
import { settingsPathFor } from '../nodered/settings';
import { runDoctor } from '../doctor/doctor';
import { allPassed, formatJson, formatText } from '../doctor/report';

/** Log levels that show more than doctor's own checklist. */
const VERBOSE = ['debug', 'trace'];

/**
 * `nrcert doctor [--json] [--settings PATH] [--env-file PATH]`: checks the whole set-up and
 * prints a checklist with a fix for each failure (or `{ ok, checks }` with --json). Exits 1 when
 * any check fails; warnings alone exit 0. Changes nothing, except for the canary TXT record the
 * token check creates and deletes again.
 */
export async function doctorCommand(args: ParsedArgs): Promise<number> {
  const sources = configSources(args);
  const results = await doctorChecks(sources, args.options.settings);
  // The editor's sidebar shows the same checklist (EDITOR_DIR/doctor.json), when that folder is in use.
  const config = (() => { try { return loadConfig(sources, 'status'); } catch { return null; } })();
  if (config) {
    const logger = createLogger('warn', { format: config.logFormat });
    publishDoctorFor(editorFolderFor(config, logger), results, logger);
  }
  process.stdout.write(args.flags.json ? formatJson(results) : formatText(results));
  return allPassed(results) ? 0 : 1;
}

/** Every check of `nrcert doctor`, settings.js at `settingsFlag` or found as `--apply` finds it. */
export async function doctorChecks(sources: ConfigSources, settingsFlag: string | undefined): Promise<CheckResult[]> {
  const level = (process.env.LOG_LEVEL ?? '').toLowerCase();
  return runDoctor({
    loadConfig: () => loadConfig(sources, 'renew'),
    settingsPath: (config) => settingsPathFor({
      flag: settingsFlag, env: { NODE_RED_USER_DIR: config?.nodeRed.userDir }, home: sources.home, cwd: sources.cwd, exists: existsSync,
    }),
    uid: process.getuid?.() ?? -1,
    home: sources.home,
    // Only warnings and errors of the checks themselves, unless LOG_LEVEL asks for more: the checklist is the output.
    logger: createLogger(VERBOSE.includes(level) ? level : 'warn'),
  });
}

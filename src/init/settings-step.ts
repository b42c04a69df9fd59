/**
 * The settings.js https step of `nrcert init`: recognises the nrcert block already there (then
 * nothing is offered), shows the block with what httpsRefreshInterval is for, and applies it
 * with the backed-up, checked edit of nodered/settings.ts. Also what settings.js says about
 * where Node-RED listens (NODE_RED_URL).
 */
import type { Config } from '../config/config';
import { NrcertError } from '../errors';
import { applySettings, DEFAULT_REFRESH_MINUTES, settingsBlock } from '../nodered/settings';
import { editSettings } from '../nodered/settings-edit';
import { probeSettings, type SettingsProbe } from '../nodered/settings-probe';
import { join } from 'node:path';
import type { Machine } from './detect';

/** What the steps after the questions may use. */
export interface StepContext {
  say: (line: string) => void;
  machine: Machine;
  /** A y/N question (--yes answers yes; without a terminal, no). */
  confirm: (question: string) => Promise<boolean>;
}

/** Shows the settings.js block and asks whether to apply it (applied after the dry run); false when already there. */
export async function askSettings(config: Config, settingsPath: string, deps: StepContext): Promise<boolean> {
  if (!deps.machine.exists(settingsPath)) return false;
  const block = { certDir: config.certDir, refreshMinutes: DEFAULT_REFRESH_MINUTES };
  if (httpsBlockApplied(deps.machine.readFile(settingsPath), block)) {
    deps.say(`  [ok] ${settingsPath} already reads the certificate from ${config.certDir} (the nrcert block).`);
    return false;
  }
  deps.say(`Node-RED reads the certificate when ${settingsPath} has these lines in module.exports (any other https, httpsRefreshInterval and requireHttps are removed; a backup is kept).`);
  deps.say('httpsRefreshInterval makes Node-RED re-read the certificate files every minute, so a renewal needs no restart:');
  deps.say(settingsBlock(block).trimEnd());
  return deps.confirm(`Apply this change to ${settingsPath} (after the dry run succeeds)?`);
}

/** True when settings.js already has exactly the https block init would write. */
export function httpsBlockApplied(source: string | undefined, block: { certDir: string; refreshMinutes: number }): boolean {
  if (source === undefined) return false;
  try {
    return editSettings(source, (indent, eol) => settingsBlock(block, indent, eol)).text === source;
  } catch {
    return false; // cannot be edited safely: applySettings says why when asked
  }
}

/** Runs a settings.js edit; an edit refused (NrcertError) is said and resolves null. */
export async function guarded<T>(edit: () => Promise<T>, deps: Pick<StepContext, 'say'>): Promise<T | null> {
  try {
    return await edit();
  } catch (err) {
    if (!(err instanceof NrcertError)) throw err;
    deps.say(`settings.js was not changed: ${err.message}`);
    return null;
  }
}

/** Applies the https block; true when settings.js changed, false when it already had it, null when refused. */
export async function applySettingsFile(config: Config, settingsPath: string, deps: Pick<StepContext, 'say'>): Promise<boolean | null> {
  return guarded(async () => {
    const result = await applySettings({ settingsPath, certDir: config.certDir, refreshMinutes: DEFAULT_REFRESH_MINUTES });
    deps.say(result.changed ? `Updated ${result.path} (backup: ${result.backupPath}).` : `${result.path} already has the nrcert block.`);
    return result.changed;
  }, deps);
}

/** What Node-RED would see in settings.js, when there is one. */
export async function probeFor(nodeRedDir: string, deps: Pick<StepContext, 'say' | 'machine'>): Promise<SettingsProbe | undefined> {
  const path = join(nodeRedDir, 'settings.js');
  if (!deps.machine.exists(path)) return undefined;
  const probe = await probeSettings(path);
  if (probe.error) deps.say(`  ${path} cannot be loaded (${probe.error}): it will not be edited.`);
  return probe;
}

/** NODE_RED_URL from settings.js: https on uiHost (loopback when it binds every address) and uiPort (1880). */
export function nodeRedUrl(probe: Pick<SettingsProbe, 'uiHost' | 'uiPort'>): string {
  const host = !probe.uiHost || ['0.0.0.0', '::', '[::]'].includes(probe.uiHost) ? '127.0.0.1' : probe.uiHost;
  return `https://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${probe.uiPort ?? 1880}`;
}

/**
 * events.json: every notification nrcert sends (service/notify.ts) is also appended here, for the
 * sidebar and the `nrcert events` node. Kept small for the notifier, which every command loads.
 */
import { join } from 'node:path';
import type { NotifyEvent } from '../service/notify';
import { readRegularFileSync } from '../store/atomic';
import { EDITOR_FILES, EDITOR_FORMAT_VERSION, ensureEditorFolder, inEditorFolder, writeEditorFile, type EditorFolder } from './folder';

/** events.json keeps this many, oldest first. */
export const MAX_EVENTS = 50;

/** Appends `event` to events.json, keeping the last MAX_EVENTS; a damaged file starts over. */
export function appendEvent(folder: EditorFolder, event: NotifyEvent): void {
  ensureEditorFolder(folder);
  const events = readEditorJson<{ events?: NotifyEvent[] }>(folder, EDITOR_FILES.events)?.events ?? [];
  const kept = [...(Array.isArray(events) ? events : []), event].slice(-MAX_EVENTS);
  writeEditorFile(folder, EDITOR_FILES.events, { version: EDITOR_FORMAT_VERSION, events: kept });
}

/** The parsed JSON of EDITOR_DIR/`name` (read without following a link), or null when missing or damaged. */
export function readEditorJson<T>(folder: EditorFolder, name: string): T | null {
  try {
    const text = inEditorFolder(folder, () => readRegularFileSync(join(folder.dir, name)));
    return text === null ? null : (JSON.parse(text) as T);
  } catch {
    return null;
  }
}

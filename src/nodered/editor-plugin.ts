/**
 * `nrcert settings --apply --editor-plugin`: installs node-red-contrib-nrcert (deploy/node-red,
 * shipped inside nrcert) into Node-RED's user dir and tells it where nrcert publishes for it, in
 * its own marked block of settings.js:
 *
 *     // nrcert: editor begin (managed by nrcert; …)
 *     nrcert: { editorDir: "/home/pi/.node-red/certs/editor" },
 *     // nrcert: editor end
 *
 * npm runs offline (the package has no dependencies), as the owner of the user dir (so
 * node_modules and package.json stay theirs), and copies the folder (--install-links) instead
 * of linking to nrcert's install: Node-RED in a container, or a later nrcert upgrade, then finds
 * the package where it was installed.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InstallError } from '../errors';
import { runningAsRoot } from '../privilege/as-owner';
import { homeOf } from '../privilege/users';
import { runUserCommand } from '../util/command';
import { editSettings, type BlockSpec } from './settings-edit';
import { applyEdit, type ApplyResult, type EditOptions } from './settings';

/** The first and last line of the editor block in settings.js. */
export const EDITOR_BEGIN = '// nrcert: editor begin';
export const EDITOR_END = '// nrcert: editor end';

/** The package's name in its package.json. */
export const PLUGIN_PACKAGE = 'node-red-contrib-nrcert';

/** How long npm may take to install a local folder. */
const NPM_TIMEOUT_MS = 120_000;

/** The package folder shipped with nrcert: deploy/node-red beside dist/. */
export function shippedPluginDir(): string {
  return join(__dirname, '..', '..', 'deploy', 'node-red');
}

/** The settings.js lines of the editor block. */
export function editorBlock(editorDir: string, indent = '    ', eol = '\n'): string {
  return [
    `${indent}${EDITOR_BEGIN} (managed by nrcert; \`nrcert settings --apply --editor-plugin\` rewrites this block)`,
    `${indent}nrcert: { editorDir: ${JSON.stringify(editorDir)} },`,
    `${indent}${EDITOR_END}`,
    '',
  ].join(eol);
}

/** The block spec: a `nrcert` setting made by hand is never replaced. */
const EDITOR_SPEC: BlockSpec = { begin: EDITOR_BEGIN, end: EDITOR_END, keys: ['nrcert'], existing: 'refuse' };

/** Writes the editor block into settings.js (backed up, checked by loading it in node). */
export async function applyEditorBlock(opts: EditOptions & { editorDir: string }): Promise<ApplyResult> {
  return applyEdit(opts, (source) => editSettings(source, (indent, eol) => editorBlock(opts.editorDir, indent, eol), EDITOR_SPEC), () => []);
}

/** An InstallError unless `packageDir` holds a package (checked before settings.js is touched). */
export function checkPluginDir(packageDir: string): void {
  if (!existsSync(join(packageDir, 'package.json'))) {
    throw new InstallError(`the Node-RED package folder ${packageDir} has no package.json; reinstall nrcert (its package ships deploy/node-red). Nothing was changed`);
  }
}

/**
 * `npm install --offline --no-audit --no-fund --install-links FOLDER` in `userDir`, as its owner
 * when root. An InstallError saying what npm answered when it fails.
 */
export async function installPlugin(userDir: string, packageDir: string): Promise<void> {
  checkPluginDir(packageDir);
  const owner = statSync(userDir, { throwIfNoEntry: false });
  if (!owner?.isDirectory()) throw new InstallError(`Node-RED's user dir ${userDir} does not exist; start Node-RED once, or set NODE_RED_USER_DIR`);
  const as = runningAsRoot() && owner.uid !== 0 ? { uid: owner.uid, gid: owner.gid } : undefined;
  const env: Record<string, string> = as ? { HOME: homeOf(as.uid) ?? userDir } : {};
  const result = await runUserCommand(['npm', 'install', '--offline', '--no-audit', '--no-fund', '--install-links', packageDir], { env, cwd: userDir, timeoutMs: NPM_TIMEOUT_MS, as });
  if (!result.ok) throw new InstallError(`npm install of ${PLUGIN_PACKAGE} into ${userDir} ${result.detail}; settings.js was not pointed at the editor folder`);
}

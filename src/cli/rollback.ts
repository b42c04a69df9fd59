import { configSources, type ParsedArgs } from './args';
import { loadConfig } from '../config/config';
import { createLogger } from '../log';
import { resolveRestartCommand } from '../nodered/restart';
import { nodeRedActivator } from '../nodered/activate';
import { ExitCode, InstallError } from '../errors';
import { validateRestorable } from '../store/validate';
import { fileStateStore } from '../renewal/state';
import { emptyRecord } from '../renewal/lineages';
import { nothingToRollBackTo, rollbackTarget, switchAndActivate, validTarget, type Target } from '../renewal/rollback';
import type { RunContext } from '../renewal/run';
import { certStore, stateArchive, stateLock } from './renew-deps';
import { reportedNames } from '../store/pem';
import { nrcertCommand } from '../util/hint';
import { editorFolderFor, publishForEditor } from './editor-publish';

/**
 * `nrcert rollback [--to ID]`: puts the last certificate Node-RED served back in CERT_DIR (or the
 * archived lineage ID, on purpose), checked first (its key matches), with one atomic swap under
 * the renewal lock, then restarts or reloads Node-RED and checks it serves it. With nothing to go
 * back to it says so, changes nothing and exits 11. Needs no Cloudflare token.
 */
export async function rollbackCommand(args: ParsedArgs): Promise<number> {
  const config = loadConfig(configSources(args), 'status');
  const restartArgv = resolveRestartCommand(config.restart, { uid: process.getuid?.() ?? -1 });
  const logger = createLogger(config.logLevel, { format: config.logFormat });
  const store = certStore({ config, logger });
  const state = fileStateStore(config.stateDir);
  const release = await stateLock(config.stateDir).acquire('rollback');
  try {
    const run: RunContext = { state: await state.read(), installed: await store.installed(), ordered: false };
    const currentId = run.installed?.id ?? null;
    const target = args.options.to
      ? await chosenTarget(config.stateDir, store, args.options.to, currentId)
      : await rollbackTarget({ store, logger }, run.state.lineages ?? emptyRecord(), currentId);
    if (!target) throw nothingToRollBackTo(currentId);
    const deps = { store, logger, now: () => new Date(), activator: nodeRedActivator({ config, logger, restartArgv }) };
    const result = await switchAndActivate(deps, run, target);
    await state.write(run.state);
    const what = `${target.id}, ${reportedNames(target.pem).join(', ') || 'no DNS names'}, valid until ${target.info.notAfter.toISOString()}`;
    if (!result.ok) {
      process.stdout.write(`Rolled back: ${config.certDir} holds ${what}, ${result.text}.\n`);
      return ExitCode.hook;
    }
    logger.info({ lineage: target.id }, 'rolled back');
    process.stdout.write(`Rolled back: ${config.certDir} holds ${what} (was ${currentId ?? 'not a lineage of nrcert'}), and Node-RED took it.\n`);
    return 0;
  } finally {
    await release();
    await publishForEditor(editorFolderFor(config, logger), config, logger);
  }
}

/** `--to ID`: a lineage in CERT_DIR, or one only the archive still has (written back first); checked either way. */
async function chosenTarget(stateDir: string, store: ReturnType<typeof certStore>, id: string, currentId: string | null): Promise<Target> {
  if (id === currentId) throw new InstallError(`${id} is installed already; nothing was changed`);
  if (!(await store.lineages()).includes(id)) {
    const archive = stateArchive(stateDir);
    if (!(await archive.ids()).includes(id)) {
      throw new InstallError(`there is no lineage ${id} in CERT_DIR or STATE_DIR/archive; ${nrcertCommand('status --json')} lists them`);
    }
    const set = await archive.read(id);
    validateRestorable(set, `archived certificate ${id}`);
    await store.restore(id, set);
  }
  return validTarget({ store }, id);
}

import { configSources, type ParsedArgs } from './args';
import { loadConfig } from '../config/config';
import { resolveOwnership } from '../config/ownership';
import { createLogger } from '../log';
import type { RenewOutcome } from '../renewal/renew';
import { attemptRenewal } from '../renewal/attempt';
import type { Reporter } from '../renewal/ports';
import { renewDeps } from './renew-deps';
import { notify } from '../service/notify';
import { notifyExpiringClients } from '../clients/notify';
import { writeStatusFiles } from '../service/status-file';
import { resolveRestartCommand } from '../nodered/restart';
import { defaultOwnership } from '../config/ownership';
import { terminalProgress } from '../util/progress';
import { dueAt } from '../renewal/policy';
import { preflight } from '../renewal/preflight';
import { editorFolderFor, publishDoctorChecks, publishForEditor } from './editor-publish';

/**
 * `nrcert renew [--force] [--dry-run] [--scheduled]`: builds the dependencies from the
 * configuration and runs one renewal (`--scheduled`, used by the service and the timer, honours
 * the back-off after failures). Ctrl-C or SIGTERM aborts it; the TXT records are still removed
 * and the lock released before it exits 130.
 *
 * A repeated SIGTERM changes nothing: under systemd's default KillMode=control-group the child
 * gets one from systemd and one forwarded by `nrcert run`, and quitting then would leave TXT
 * records and STATE_DIR/lock behind. Cleanup is bounded elsewhere (the service's grace, the unit's
 * TimeoutStopSec). Only a second Ctrl-C at a terminal quits at once, for a person who means it.
 */
export async function renewCommand(args: ParsedArgs): Promise<number> {
  const config = loadConfig(configSources(args), 'renew');
  const ownership = await defaultOwnership(config.certDir, resolveOwnership(config.certOwner, config.certGroup));
  const restartArgv = resolveRestartCommand(config.restart, { uid: process.getuid?.() ?? -1 });
  await preflight(config, restartArgv, { dryRun: Boolean(args.flags['dry-run']), searchPath: process.env.PATH ?? '', cwd: process.cwd(), uid: process.getuid?.() ?? -1 });
  const logger = createLogger(config.logLevel, { format: config.logFormat });
  for (const warning of config.warnings) logger.warn(warning);
  const controller = new AbortController();
  const atTerminal = Boolean(process.stdin.isTTY || process.stderr.isTTY);
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      if (signal === 'SIGINT' && atTerminal) process.exit(130);
      logger.info({ signal }, 'already cleaning up; exiting when done');
      return;
    }
    logger.warn({ signal }, `interrupted: cleaning up${atTerminal ? ' (press Ctrl-C again to quit at once)' : ''}`);
    controller.abort();
  };
  // Kept until the process exits: a second SIGTERM (systemd's control group plus the service's
  // forward) that lands after the cleanup, while the process is finishing, must not kill it with
  // a signal instead of letting it exit 130 (or 0) on its own.
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const editor = editorFolderFor(config, logger);
  const reporter: Reporter = {
    notify: (event) => notify(event, { command: config.notify.command, url: config.notify.url, editor, logger }),
    writeStatus: (status) => writeStatusFiles({ stateDir: config.stateDir, metricsFile: config.metricsFile }, status),
  };
  // The service's checks also tell about client certificates (nrcert clients) expiring within 30 days; never fatal.
  if (args.flags.scheduled) await notifyExpiringClients(config.stateDir, new Date(), reporter.notify).catch((err: Error) => logger.warn(`client_expiring: could not check the client certificates (${err.message})`));
  const deps = renewDeps({ config, logger, reporter, ownership, restartArgv, progress: terminalProgress(process.stderr), signal: controller.signal });
  let outcome: RenewOutcome;
  try {
    outcome = await attemptRenewal(deps, { force: Boolean(args.flags.force), dryRun: Boolean(args.flags['dry-run']), scheduled: Boolean(args.flags.scheduled) });
  } finally {
    // The editor sees the end of every run, failed ones included (EDITOR_DIR/status.json).
    await publishForEditor(editor, config, logger);
    // Not after a stop: the checks talk to the network, and the stop's grace is for the cleanup.
    if ((args.flags.scheduled || args.flags.doctor) && !controller.signal.aborted) await publishDoctorChecks(editor, configSources(args), logger);
  }
  process.stdout.write(`${describeOutcome(outcome, config.certDir)}\n`);
  return 0;
}

function describeOutcome(outcome: RenewOutcome, certDir: string): string {
  switch (outcome.action) {
    case 'skipped':
      return `Certificate for ${outcome.installed.names.join(', ')} is not due for renewal until ${outcome.decision.dueAt?.toISOString()} ` +
        `(expires ${outcome.installed.notAfter.toISOString()}); nothing changed. Use --force to renew now.`;
    case 'held':
      return `Renewal is due, but backing off after failed orders until ${outcome.until.toISOString()} (run without --scheduled to try now).`;
    case 'dry-run':
      return `Dry run succeeded: ${outcome.directoryUrl} issued a valid certificate for ${outcome.certificate.names.join(', ')}; nothing was installed.`;
    case 'renewed':
      return `Certificate for ${outcome.certificate.names.join(', ')} installed in ${certDir}, valid until ${outcome.certificate.notAfter.toISOString()}; ` +
        `renewal due ${dueAt(outcome.certificate).toISOString()}.${outcome.warnings.map((w) => `\nWarning: ${w}.`).join('')}`;
  }
}

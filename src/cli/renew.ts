import { configSources, type ParsedArgs } from './args';
import { loadConfig } from '../config/config';
import { resolveOwnership } from '../config/ownership';
import { createLogger } from '../log';
import { CloudflareDnsProvider } from '../dns/cloudflare/provider';
import type { RenewOutcome } from '../renewal/renew';
import { attemptRenewal, type Reporter } from '../renewal/attempt';
import { notify } from '../service/notify';
import { writeStatusFiles } from '../service/status-file';
import { resolveRestartCommand } from '../nodered/restart';
import { defaultOwnership } from '../config/ownership';
import { terminalProgress } from '../util/progress';
import { dueAt } from '../renewal/policy';

/**
 * `nrcert renew [--force] [--dry-run] [--scheduled]`: builds the dependencies from the
 * configuration and runs one renewal (`--scheduled`, used by the service and the timer, honours
 * the back-off after failures). Ctrl-C or SIGTERM aborts it; the TXT records are still removed before exiting,
 * and a second signal exits at once.
 */
export async function renewCommand(args: ParsedArgs): Promise<number> {
  const config = loadConfig(configSources(args), 'renew');
  const ownership = await defaultOwnership(config.certDir, resolveOwnership(config.certOwner, config.certGroup));
  const restartArgv = resolveRestartCommand(config.restart, { uid: process.getuid?.() ?? -1 });
  const logger = createLogger(config.logLevel);
  for (const warning of config.warnings) logger.warn(warning);
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130);
    logger.warn({ signal }, 'interrupted: cleaning up (press Ctrl-C again to quit at once)');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const reporter: Reporter = {
      notify: (event) => notify(event, { command: config.notify.command, url: config.notify.url, logger }),
      writeStatus: (status) => writeStatusFiles({ stateDir: config.stateDir, metricsFile: config.metricsFile }, status),
    };
    const outcome = await attemptRenewal(
      {
        config,
        logger,
        reporter,
        ownership,
        restartArgv,
        progress: terminalProgress(process.stderr),
        now: () => new Date(),
        signal: controller.signal,
        dnsProvider: () => new CloudflareDnsProvider({ ...config.cloudflare, apiToken: config.cloudflare.apiToken!, stateDir: config.stateDir, logger, signal: controller.signal }),
      },
      { force: Boolean(args.flags.force), dryRun: Boolean(args.flags['dry-run']), scheduled: Boolean(args.flags.scheduled) },
    );
    process.stdout.write(`${describeOutcome(outcome, config.certDir)}\n`);
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function describeOutcome(outcome: RenewOutcome, certDir: string): string {
  switch (outcome.action) {
    case 'skipped':
      return `Certificate for ${outcome.installed.names.join(', ')} is not due for renewal until ${outcome.decision.dueAt?.toISOString()} ` +
        `(expires ${outcome.installed.notAfter.toISOString()}); nothing changed. Use --force to renew now.`;
    case 'held':
      return `Renewal is due, but backing off after failed attempts until ${outcome.until.toISOString()} (run without --scheduled to try now).`;
    case 'dry-run':
      return `Dry run succeeded: ${outcome.directoryUrl} issued a valid certificate for ${outcome.certificate.names.join(', ')}; nothing was installed.`;
    case 'renewed':
      return `Certificate for ${outcome.certificate.names.join(', ')} installed in ${certDir}, valid until ${outcome.certificate.notAfter.toISOString()}; ` +
        `renewal due ${dueAt(outcome.certificate).toISOString()}.`;
  }
}

import { mkdir } from 'node:fs/promises';
import { configSources, type ParsedArgs } from './args';
import { loadConfig } from '../config/config';
import { createLogger } from '../log';
import { FileCertStore } from '../store/cert-dir';
import { acquireLock } from '../store/lock';
import { readInstalledCertificate } from '../store/pem';
import { resolveRestartCommand } from '../nodered/restart';
import { restartAndVerify } from '../nodered/activate';
import { statePath } from '../store/state-dir';

/**
 * `nrcert rollback`: puts the previous certificate back in CERT_DIR (one atomic swap, under the
 * renewal lock), restarts or reloads Node-RED and checks it serves it. With no previous
 * certificate it says so and changes nothing. Needs no Cloudflare token.
 */
export async function rollbackCommand(args: ParsedArgs): Promise<number> {
  const config = loadConfig(configSources(args), 'status');
  const restartArgv = resolveRestartCommand(config.restart, { uid: process.getuid?.() ?? -1 });
  const logger = createLogger(config.logLevel);
  await mkdir(config.stateDir, { recursive: true, mode: 0o700 });
  const release = await acquireLock(statePath(config.stateDir, 'lock'), { command: 'rollback' });
  try {
    const store = new FileCertStore(config.certDir);
    const restored = await store.rollback();
    logger.info({ lineage: restored }, 'previous certificate restored');
    await restartAndVerify({ config, logger, store, restartArgv });
    const info = (await readInstalledCertificate(config.certDir))?.info;
    process.stdout.write(`Rolled back: ${config.certDir} holds the previous certificate again (${restored}, ${info?.names.join(', ')}, valid until ${info?.notAfter.toISOString()}).\n`);
    return 0;
  } finally {
    await release();
  }
}

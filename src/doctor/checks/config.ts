import type { Config } from '../../config/config';
import { ConfigError, describeError } from '../../errors';
import { fail, ok, type CheckResult } from '../types';
import { nrcertCommand } from '../../util/hint';

/**
 * Check 1: the configuration loads as `renew` needs it. Every problem is listed (ConfigError
 * already names each setting); checks that need the configuration are skipped when it fails.
 */
export function checkConfig(load: () => Config): { config?: Config; result: CheckResult } {
  try {
    const config = load();
    const from = config.envFile ? `from ${config.envFile}` : 'from the environment (no .env file)';
    const warnings = config.warnings.length ? `; note: ${config.warnings.join('; ')}` : '';
    return { config, result: ok('config', `valid ${from}: ${config.domains.join(', ')}${warnings}`) };
  } catch (err) {
    if (!(err instanceof ConfigError)) return { result: fail('config', `cannot be loaded: ${describeError(err)}`, 'check the .env file and its permissions') };
    const problems = err.problems.join('; ');
    return {
      result: fail('config', `${err.problems.length === 1 ? '1 problem' : `${err.problems.length} problems`}: ${problems}`,
        `fix each setting named above in .env (see .env.example), then run ${nrcertCommand('doctor')} again`),
    };
  }
}

/** A real Config, loaded the way `nrcert renew` loads it, for unit tests of what reads one. */
import { join } from 'node:path';
import { loadConfig, type Config } from '../../src/config/config';

/**
 * Loads the settings a user of example.test would have (DOMAINS with the wildcard, a token),
 * with CERT_DIR = `dir`/certs, STATE_DIR = `dir`/state, home and cwd `dir`; `env` overrides any.
 */
export function testConfig(dir: string, env: Record<string, string> = {}): Config {
  return loadConfig({
    env: { DOMAINS: 'example.test,*.example.test', CLOUDFLARE_API_TOKEN: 'tok', CERT_DIR: join(dir, 'certs'), STATE_DIR: join(dir, 'state'), ...env },
    home: dir,
    cwd: dir,
  }, 'renew');
}

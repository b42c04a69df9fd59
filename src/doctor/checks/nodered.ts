import type { Config } from '../../config/config';
import { servedFingerprint } from '../../nodered/verify';
import type { InstalledSet } from '../installed';
import { codeOf, fail, ok, skip, type CheckResult } from '../types';
import { nrcertCommand } from '../../util/hint';

const ID = 'nodered';

/**
 * Check 8: Node-RED answers at NODE_RED_URL and serves the installed certificate (one TLS
 * handshake with NODE_RED_SNI, the certificate compared by fingerprint, not trusted or not).
 */
export async function checkNodeRed(config: Config | undefined, installed: InstalledSet | null, timeoutMs = 5000): Promise<CheckResult> {
  if (!config) return skip(ID, 'needs a valid configuration (see above)');
  const url = config.nodeRed.url;
  if (!url) {
    return skip(ID, 'NODE_RED_URL is not set, so whether Node-RED serves the certificate is not checked',
      'set NODE_RED_URL (e.g. https://127.0.0.1:1880): then doctor checks it, and each renewal is verified and rolled back if not served');
  }
  let served: string;
  try {
    served = await servedFingerprint(url, config.nodeRed.servername, timeoutMs);
  } catch (err) {
    const code = codeOf(err);
    const hint = code === 'ECONNREFUSED' ? 'nothing listens there: is Node-RED running (systemctl status nodered)? Is the port right?'
      : /EPROTO|WRONG_VERSION|ECONNRESET/.test(code) ? 'it does not speak TLS there: does settings.js set https (see the settings line)?'
        : 'check NODE_RED_URL and that Node-RED is running';
    return fail(ID, `no TLS answer from Node-RED at ${url} (${code})`, hint);
  }
  if (!installed?.info) return fail(ID, `Node-RED at ${url} serves a certificate, but none is installed in ${config.certDir}`, nrcertCommand('renew'));
  if (served !== installed.info.fingerprint256) {
    return fail(ID, `Node-RED at ${url} serves another certificate (SHA-256 ${served.slice(0, 23)}…) than the one installed (${installed.info.fingerprint256.slice(0, 23)}…)`,
      'restart Node-RED (or wait for its httpsRefreshInterval); if it persists, see the settings line');
  }
  return ok(ID, `Node-RED at ${url} serves the installed certificate`);
}

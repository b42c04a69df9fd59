import { connect } from 'node:tls';
import { isIP } from 'node:net';
import type { Logger } from '../log';
import { HookError } from '../errors';
import { sleep } from '../util/sleep';

/** Where to look and what for: Node-RED's URL, the SNI name, the fingerprint that must be served. */
export interface ServeCheck {
  url: string;
  servername: string;
  fingerprint256: string;
  timeoutMs: number;
  logger: Logger;
  signal?: AbortSignal;
}

/** What one TLS handshake with Node-RED showed: the served leaf's fingerprint, or why none. */
export async function servedFingerprint(url: string, servername: string, timeoutMs = 5000): Promise<string> {
  const { hostname, port } = new URL(url);
  const host = hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve, reject) => {
    const socket = connect({
      host,
      port: Number(port || 443),
      servername: isIP(servername) ? undefined : servername,
      rejectUnauthorized: false,
      timeout: timeoutMs,
    });
    socket.once('secureConnect', () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      socket.end();
      if (fingerprint) resolve(fingerprint);
      else reject(new Error('no certificate was presented'));
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new Error(`no TLS answer within ${timeoutMs / 1000} s`));
    });
    socket.once('error', reject);
  });
}

/**
 * Connects to Node-RED until it serves the expected certificate or the timeout passes, asking at
 * short growing intervals (a restart takes a second or two; a reload through
 * httpsRefreshInterval can take up to that interval). Throws HookError saying what was served.
 */
export async function waitUntilServed(check: ServeCheck): Promise<void> {
  const started = Date.now();
  let interval = 250;
  let last = 'nothing yet';
  for (;;) {
    try {
      const served = await servedFingerprint(check.url, check.servername);
      if (served === check.fingerprint256) {
        check.logger.info({ url: check.url, ms: Date.now() - started }, 'Node-RED serves the installed certificate');
        return;
      }
      last = `a different certificate (SHA-256 ${served.slice(0, 23)}…)`;
    } catch (err) {
      last = `no TLS answer (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
    }
    const elapsed = Date.now() - started;
    if (elapsed >= check.timeoutMs) {
      throw new HookError(`Node-RED at ${check.url} did not serve the new certificate within ${Math.round(check.timeoutMs / 1000)} s ` +
        `(NODE_RED_VERIFY_TIMEOUT); it served ${last}`);
    }
    check.logger.debug({ url: check.url, served: last }, 'waiting for Node-RED to serve the new certificate');
    await sleep(Math.min(interval, check.timeoutMs - elapsed), check.signal);
    interval = Math.min(2000, Math.round(interval * 1.5));
  }
}

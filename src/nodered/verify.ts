import { connect } from 'node:tls';
import { isIP } from 'node:net';
import type { Logger } from '../log';
import { HookError } from '../errors';
import { pollUntil } from '../util/poll';

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
  const look = async (): Promise<string | undefined> => {
    try {
      const served = await servedFingerprint(check.url, check.servername, Math.min(5000, check.timeoutMs));
      return served === check.fingerprint256 ? undefined : `a different certificate (SHA-256 ${served.slice(0, 23)}…)`;
    } catch (err) {
      return `no TLS answer (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
    }
  };
  const result = await pollUntil(look, {
    timeoutMs: check.timeoutMs,
    signal: check.signal,
    onWait: (served) => check.logger.debug({ url: check.url, served }, 'waiting for Node-RED to serve the new certificate'),
  });
  if (result.pending) {
    throw new HookError(`Node-RED at ${check.url} did not serve the new certificate within ${Math.round(check.timeoutMs / 1000)} s ` +
      `(NODE_RED_VERIFY_TIMEOUT); it served ${result.pending}`);
  }
  check.logger.info({ url: check.url, ms: result.elapsedMs }, 'Node-RED serves the installed certificate');
}

import { get } from 'node:https';
import type { Config } from '../../config/config';
import { MAX_NOT_BEFORE_SKEW_MS } from '../../store/validate';
import { codeOf, fail, ok, skip, warn, type CheckResult } from '../types';

/** Clock skew that earns a warning; above MAX_NOT_BEFORE_SKEW_MS (5 min) it is a failure. */
export const WARN_SKEW_MS = 30_000;

/** Seams for tests: the local clock, the request timeout, and a CA to trust. */
export interface ClockCheckDeps {
  now?: () => Date;
  timeoutMs?: number;
  ca?: string;
}

interface DirectoryAnswer {
  status: number;
  date?: string;
  body: string;
  receivedAt: Date;
}

/**
 * Checks 4a and 4b: the ACME directory answers (`acme`), and this machine's clock agrees with
 * the Date header of that answer (`clock`). A Raspberry Pi has no battery clock: booted without
 * network time, it can be days off. Then a fresh certificate looks "not yet valid" (nrcert
 * refuses one whose notBefore is over 5 minutes ahead), renewals are timed wrongly, and TLS to
 * the CA and to Cloudflare fails once the clock is past their certificates' validity.
 */
export async function checkAcmeAndClock(config: Config | undefined, deps: ClockCheckDeps = {}): Promise<CheckResult[]> {
  if (!config) return [skip('acme', 'needs a valid configuration (see above)'), skip('clock', 'needs a valid configuration (see above)')];
  const url = config.acme.directoryUrl;
  const now = deps.now ?? (() => new Date());
  let answer: DirectoryAnswer;
  try {
    answer = await fetchDirectory(url, deps.timeoutMs ?? 10_000, now, deps.ca);
  } catch (err) {
    return [unreachable(url, err, now()), skip('clock', 'the ACME server did not answer, so there is no time to compare with')];
  }
  return [directoryResult(url, answer), clockResult(url, answer)];
}

function unreachable(url: string, err: unknown, now: Date): CheckResult {
  const code = codeOf(err);
  const host = new URL(url).host;
  if (code === 'CERT_NOT_YET_VALID' || code === 'CERT_HAS_EXPIRED') {
    return fail('acme', `the ACME server's TLS certificate looks ${code === 'CERT_HAS_EXPIRED' ? 'expired' : 'not yet valid'} to this machine, whose clock says ${now.toISOString()}`,
      'set the clock: sudo timedatectl set-ntp true (and check that NTP can reach the internet)');
  }
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
    return fail('acme', `the TLS certificate of ${host} is not trusted (${code})`,
      'for a private or test CA, point NODE_EXTRA_CA_CERTS at its CA file; otherwise check ACME_DIRECTORY');
  }
  return fail('acme', `cannot reach the ACME server at ${host} (${code})`, 'check the network (outbound HTTPS) and ACME_DIRECTORY');
}

function directoryResult(url: string, answer: DirectoryAnswer): CheckResult {
  let newOrder = false;
  try {
    newOrder = typeof (JSON.parse(answer.body) as { newOrder?: unknown }).newOrder === 'string';
  } catch {
    // not JSON: reported below
  }
  if (answer.status !== 200 || !newOrder) {
    return fail('acme', `ACME_DIRECTORY ${url} answered HTTP ${answer.status} without an ACME directory (no newOrder)`,
      'set ACME_DIRECTORY to production, staging or the URL of an ACME directory');
  }
  return ok('acme', `the ACME directory at ${url} answers`);
}

function clockResult(url: string, answer: DirectoryAnswer): CheckResult {
  const server = answer.date ? Date.parse(answer.date) : NaN;
  if (Number.isNaN(server)) return warn('clock', `${new URL(url).host} sent no usable Date header, so the clock could not be compared`);
  // Date has whole seconds, truncated: the server's time lay somewhere in [date, date + 1 s).
  const skew = answer.receivedAt.getTime() - (server + 500);
  const size = `${formatSkew(Math.abs(skew))} ${skew > 0 ? 'ahead of' : 'behind'}`;
  const fix = 'turn on network time: sudo timedatectl set-ntp true (then check: timedatectl status)';
  if (Math.abs(skew) > MAX_NOT_BEFORE_SKEW_MS) {
    return fail('clock', `this machine's clock is ${size} the ACME server's (more than 5 min: new certificates would look not yet valid, renewals are mistimed)`, fix);
  }
  if (Math.abs(skew) > WARN_SKEW_MS) return warn('clock', `this machine's clock is ${size} the ACME server's`, fix);
  return ok('clock', `this machine's clock agrees with the ACME server's (within ${Math.max(1, Math.round(Math.abs(skew) / 1000))} s)`);
}

function formatSkew(ms: number): string {
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < 172_800_000) return `${Math.round(ms / 3_600_000)} h`;
  return `${Math.round(ms / 86_400_000)} days`;
}

/** One plain HTTPS GET of the directory: status, Date header, body (first 64 KiB). */
function fetchDirectory(url: string, timeoutMs: number, now: () => Date, ca?: string): Promise<DirectoryAnswer> {
  return new Promise((resolve, reject) => {
    const req = get(url, { timeout: timeoutMs, ca, headers: { 'user-agent': 'nrcert-doctor' } }, (res) => {
      const receivedAt = now();
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (body.length < 65_536) body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, date: res.headers.date, body, receivedAt }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
  });
}

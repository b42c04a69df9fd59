import type { Config } from '../../config/config';
import { describeError } from '../../errors';
import { emergencyAt } from '../../renewal/policy';
import { validateCertificateSet } from '../../store/validate';
import { CERT_FILES, type CertificateSet } from '../../store/types';
import type { InstalledSet } from '../installed';
import { fail, ok, skip, warn, type CheckResult } from '../types';
import { nrcertCommand } from '../../util/hint';

const ID = 'certificate';
const DAY_MS = 86_400_000;
/** Warn when less than this is left (or a quarter of the lifetime, for short-lived certificates). */
export const EXPIRY_WARN_MS = 7 * DAY_MS;

/**
 * Check 6: the installed certificate is whole and right: all four files, not expired, covering
 * every name in DOMAINS, the key matching it, the chain linking (validate.ts, the same check a
 * new certificate passes before install). Fails when less than 1/20 of its lifetime is left (the
 * point where renewal is an emergency: renewals must have been failing for weeks); warns inside
 * the last 7 days (or last quarter of a short lifetime).
 */
export function checkCertificate(config: Config | undefined, installed: InstalledSet | null, now: Date): CheckResult {
  if (!config) return skip(ID, 'needs a valid configuration (see above)');
  if (!installed) return fail(ID, `no certificate is installed in ${config.certDir}`, nrcertCommand('renew'));
  const unreadable = Object.entries(installed.unreadable);
  if (unreadable.length > 0) {
    return fail(ID, `cannot read ${unreadable.map(([name, code]) => `${name} (${code})`).join(', ')} in ${config.certDir}`,
      `run ${nrcertCommand('doctor')} as the user nrcert runs as, or fix the files' permissions`);
  }
  const missing = CERT_FILES.filter((name) => installed.set[name.replace('.pem', '') as keyof CertificateSet] === undefined);
  if (missing.length > 0) return fail(ID, `${config.certDir} lacks ${missing.join(', ')}`, `${nrcertCommand('renew')} --force`);
  const info = installed.info;
  if (!info) return fail(ID, `${config.certDir}/cert.pem holds no valid certificate`, `${nrcertCommand('renew')} --force`);
  if (info.notAfter.getTime() <= now.getTime()) {
    return fail(ID, `the certificate for ${info.names.join(', ')} expired at ${info.notAfter.toISOString()}`,
      `${nrcertCommand('renew')} (then see the last-run line: renewals have not been working)`);
  }
  const have = new Set(info.names.map((n) => n.toLowerCase()));
  const uncovered = config.domains.filter((n) => !have.has(n.toLowerCase()));
  if (uncovered.length > 0) {
    return fail(ID, `the certificate does not cover ${uncovered.join(', ')} from DOMAINS (it covers ${info.names.join(', ') || 'no DNS names'})`,
      `${nrcertCommand('renew')} (a certificate that misses a name in DOMAINS is renewed at once)`);
  }
  try {
    validateCertificateSet(installed.set as CertificateSet, { names: config.domains, now });
  } catch (err) {
    return fail(ID, `the installed set is broken: ${describeError(err)}`, `${nrcertCommand('rollback')} (to the previous set), or ${nrcertCommand('renew')} --force`);
  }
  return judgeExpiry(info.names, info.notBefore, info.notAfter, now);
}

function judgeExpiry(names: string[], notBefore: Date, notAfter: Date, now: Date): CheckResult {
  const left = notAfter.getTime() - now.getTime();
  const lifetime = notAfter.getTime() - notBefore.getTime();
  const days = left >= 2 * DAY_MS ? `${Math.floor(left / DAY_MS)} days` : `${Math.max(1, Math.round(left / 3_600_000))} h`;
  const until = `until ${notAfter.toISOString()} (${days} left)`;
  if (now.getTime() >= emergencyAt({ notBefore, notAfter }).getTime()) {
    return fail(ID, `the certificate expires soon: valid only ${until}, less than 1/20 of its lifetime; renewals have been failing`,
      `${nrcertCommand('renew')}, and see the last-run line for why the scheduled renewals did not work`);
  }
  if (left < Math.min(EXPIRY_WARN_MS, lifetime / 4)) {
    return warn(ID, `the certificate is valid only ${until}: it should have been renewed by now`,
      `${nrcertCommand('renew')}, and check that the service or timer runs (see the service and last-run lines)`);
  }
  return ok(ID, `valid ${until}, covers ${names.join(', ')}, key and chain match`);
}

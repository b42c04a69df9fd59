import type { CertificateInfo } from '../store/types';

/** The renewal decision and why, for the log and for `status`. */
export interface RenewalDecision {
  due: boolean;
  reason: string;
  /** When the installed certificate becomes due (absent when there is none). */
  dueAt?: Date;
}

/** When the certificate becomes due: once less than a third of its lifetime is left. */
export function dueAt(cert: Pick<CertificateInfo, 'notBefore' | 'notAfter'>): Date {
  const lifetime = cert.notAfter.getTime() - cert.notBefore.getTime();
  return new Date(cert.notAfter.getTime() - lifetime / 3);
}

/**
 * Decides whether to renew, as one pure function (certmagic's shape). Due when there is no
 * certificate, when it does not cover every configured name, or when less than one third of
 * its lifetime is left — a fraction, not a fixed 30 days, so 6-day and 45-day certificates renew
 * in time too. `force` renews regardless.
 */
export function decideRenewal(input: { installed: CertificateInfo | null; names: string[]; now: Date; force?: boolean }): RenewalDecision {
  const { installed, names, now } = input;
  if (!installed) return { due: true, reason: 'no certificate is installed yet' };
  const due = dueAt(installed);
  const missing = names.filter((n) => !installed.names.some((have) => have.toLowerCase() === n.toLowerCase()));
  if (input.force) return { due: true, reason: 'renewal forced (--force)', dueAt: due };
  if (missing.length > 0) return { due: true, reason: `the installed certificate does not cover ${missing.join(', ')}`, dueAt: due };
  if (installed.notAfter.getTime() <= now.getTime()) return { due: true, reason: 'the installed certificate has expired', dueAt: due };
  if (due.getTime() <= now.getTime()) return { due: true, reason: 'less than a third of its lifetime is left', dueAt: due };
  return { due: false, reason: `not due until ${due.toISOString()} (a third of its lifetime before expiry)`, dueAt: due };
}

import type { CertificateInfo } from '../store/types';
import type { RenewalInfo } from '../acme/ari';
import { isoTime } from '../util/iso-time';

/** The renewal decision and why, for the log and for `status`. */
export interface RenewalDecision {
  due: boolean;
  reason: string;
  /** When the installed certificate becomes due (absent when there is none). */
  dueAt?: Date;
  /** When not due: when to decide again (dueAt, or sooner when ARI should be asked again). */
  nextCheck?: Date;
}


type Validity = Pick<CertificateInfo, 'notBefore' | 'notAfter'>;

function lifetimeMs(cert: Validity): number {
  return cert.notAfter.getTime() - cert.notBefore.getTime();
}

/** When renewal becomes urgent whatever ARI says: less than 1/20 of the lifetime left. */
export function emergencyAt(cert: Validity): Date {
  return new Date(cert.notAfter.getTime() - lifetimeMs(cert) / 20);
}

/** The time ARI asks for: the chosen time, kept inside the window (its start when none was chosen). */
function ariTime(ari: RenewalInfo): Date {
  const t = (ari.chosenAt ?? ari.window.start).getTime();
  return new Date(Math.min(Math.max(t, ari.window.start.getTime()), ari.window.end.getTime()));
}

/**
 * A window that ended before this certificate was issued cannot be about it (a stale or
 * misdirected answer); following it would renew a fresh certificate again and again.
 */
function usableAri(cert: Validity, ari?: RenewalInfo): ari is RenewalInfo {
  return ari !== undefined && ari.window.end.getTime() > cert.notBefore.getTime();
}

/**
 * When the certificate becomes due: at ARI's chosen time when the CA gave a window (but never
 * later than the emergency point), otherwise once less than a third of its lifetime is left.
 */
export function dueAt(cert: Validity, ari?: RenewalInfo): Date {
  if (usableAri(cert, ari)) return new Date(Math.min(ariTime(ari).getTime(), emergencyAt(cert).getTime()));
  return new Date(cert.notAfter.getTime() - lifetimeMs(cert) / 3);
}

const iso = isoTime; // the service's status runs this policy too (util/iso-time.ts)

/**
 * Decides whether to renew, as one pure function (certmagic's shape). Due when there is no
 * certificate, when it does not cover every configured name, or when it has expired. Then,
 * always, when less than 1/20 of its lifetime is left (an emergency, whatever ARI says). Then
 * the CA's renewal window when there is one (due from the time chosen inside it, or once the
 * window has passed); without one, when less than a third of the lifetime is left — a
 * fraction, not a fixed 30 days, so 6-day and 45-day certificates renew in time too. `force`
 * renews regardless.
 */
export function decideRenewal(input: {
  installed: CertificateInfo | null;
  names: string[];
  now: Date;
  force?: boolean;
  ari?: RenewalInfo;
}): RenewalDecision {
  const { installed, names, now } = input;
  if (!installed) return { due: true, reason: 'no certificate is installed yet' };
  const ari = usableAri(installed, input.ari) ? input.ari : undefined;
  const due = dueAt(installed, ari);
  const missing = names.filter((n) => !installed.names.some((have) => have.toLowerCase() === n.toLowerCase()));
  if (input.force) return { due: true, reason: 'renewal forced (--force)', dueAt: due };
  if (missing.length > 0) return { due: true, reason: `the installed certificate does not cover ${missing.join(', ')}`, dueAt: due };
  if (installed.notAfter.getTime() <= now.getTime()) return { due: true, reason: 'the installed certificate has expired', dueAt: due };
  if (emergencyAt(installed).getTime() <= now.getTime()) {
    return { due: true, reason: `emergency: less than 1/20 of the lifetime left${ari ? ' (renewing whatever ARI says)' : ''}`, dueAt: due };
  }
  if (ari) return decideByAri(ari, now, due);
  const ignored = input.ari ? '; ignored a CA renewal window that ended before this certificate was issued' : '';
  if (due.getTime() <= now.getTime()) return { due: true, reason: `less than a third of its lifetime is left${ignored}`, dueAt: due };
  return { due: false, reason: `not due until ${iso(due)} (a third of its lifetime before expiry)${ignored}`, dueAt: due, nextCheck: due };
}

function decideByAri(ari: RenewalInfo, now: Date, due: Date): RenewalDecision {
  const { start, end } = ari.window;
  const explained = ari.explanationURL ? ` (see ${ari.explanationURL})` : '';
  const text = `ARI: the CA suggests renewing between ${iso(start)} and ${iso(end)}${explained}; chose ${iso(ariTime(ari))}`;
  if (end.getTime() <= now.getTime()) return { due: true, reason: `${text}; the window has passed`, dueAt: due };
  if (due.getTime() <= now.getTime()) return { due: true, reason: text, dueAt: due };
  const nextCheck = ari.retryAfter && ari.retryAfter < due ? ari.retryAfter : due;
  return { due: false, reason: `${text}; not due until ${iso(due)}`, dueAt: due, nextCheck };
}

/**
 * Pure decisions about the client CA, each with a reason (shaped like renewal/policy.ts): which
 * client certificates need replacing soon, and whether the CRL on disk is the one Node-RED must
 * have. Doctor prints them; the service turns the first into `client_expiring` notifications.
 */
import type { ClientRecord } from './store';

/** Client certificates expiring within this many days are reported. */
export const CLIENT_EXPIRY_WARN_DAYS = 30;
/** A CRL whose nextUpdate is closer than this is stale: OpenSSL refuses everyone once it passes. */
export const CRL_MIN_DAYS_LEFT = 30;

const DAY_MS = 86_400_000;

/** One client certificate that needs attention, and why. */
export interface ClientExpiry {
  name: string;
  serial: string;
  notAfter: string;
  daysLeft: number;
  expired: boolean;
  reason: string;
}

/**
 * The active (not revoked) client certificates that expire within `withinDays` of `now`, or have
 * expired, soonest first. A revoked one is never reported: it is refused anyway.
 */
export function expiringClients(clients: ClientRecord[], now: Date, withinDays = CLIENT_EXPIRY_WARN_DAYS): ClientExpiry[] {
  return clients
    .filter((c) => c.revokedAt === null)
    .map((c) => ({ c, left: (Date.parse(c.notAfter) - now.getTime()) / DAY_MS }))
    .filter(({ left }) => left < withinDays)
    .sort((a, b) => a.left - b.left)
    .map(({ c, left }) => {
      const daysLeft = Math.floor(left);
      const expired = left <= 0;
      const reason = expired
        ? `"${c.name}" expired on ${c.notAfter.slice(0, 10)}: it is refused now`
        : `"${c.name}" expires on ${c.notAfter.slice(0, 10)} (${daysLeft} day${daysLeft === 1 ? '' : 's'} left, under ${withinDays})`;
      return { name: c.name, serial: c.serial, notAfter: c.notAfter, daysLeft, expired, reason };
    });
}

/** What the CRL on disk says, as far as freshness goes. */
export interface CrlFacts {
  signedByCa: boolean;
  nextUpdate: Date | null;
  /** Serials it lists, normalised (lower-case hex, no leading zeros). */
  serials: string[];
}

/** Whether the CRL is the one Node-RED must have, and why (not). */
export interface CrlVerdict {
  fresh: boolean;
  reason: string;
}

/** The CRL is fresh when the CA signed it, it lists every revoked serial, and its nextUpdate is well ahead. */
export function crlVerdict(crl: CrlFacts | null, clients: ClientRecord[], now: Date): CrlVerdict {
  if (!crl) return { fresh: false, reason: 'there is no readable CRL' };
  if (!crl.signedByCa) return { fresh: false, reason: 'the CRL is not signed by this CA' };
  const listed = new Set(crl.serials);
  const missing = clients.filter((c) => c.revokedAt !== null && !listed.has(normal(c.serial)));
  if (missing.length > 0) return { fresh: false, reason: `the CRL does not list revoked ${missing.map((c) => `"${c.name}"`).join(', ')}` };
  if (!crl.nextUpdate) return { fresh: true, reason: `the CRL lists all ${listed.size} revoked certificate(s) and has no nextUpdate` };
  const left = (crl.nextUpdate.getTime() - now.getTime()) / DAY_MS;
  if (left < CRL_MIN_DAYS_LEFT) {
    return { fresh: false, reason: `the CRL's nextUpdate is ${crl.nextUpdate.toISOString().slice(0, 10)} (${Math.floor(left)} days): once it passes, every client certificate is refused` };
  }
  return { fresh: true, reason: `the CRL lists all ${listed.size} revoked certificate(s), valid until ${crl.nextUpdate.toISOString().slice(0, 10)}` };
}

function normal(serial: string): string {
  return serial.toLowerCase().replace(/^0+(?=.)/, '');
}

/**
 * What the DNS server's answer means for the user: one DnsProviderError per TSIG error and per
 * RCODE, each prefixed `rfc2136:` and naming the setting (or the server configuration) to fix.
 * Branches on codes, never on message text; messages name the key, never its secret.
 */
import { DnsProviderError } from '../../errors';
import { FUDGE_SECONDS } from './tsig';

/** Why an exchange got no answer: refused, unreachable, timed out, closed early. */
export class TransportError extends Error {
  constructor(readonly kind: 'connect' | 'timeout' | 'closed', message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The TSIG errors a server can answer with (RFC 8945 §5.2). */
export type TsigErrorName = 'BADSIG' | 'BADKEY' | 'BADTIME' | 'BADTRUNC';

/** A refusal or failure of the RFC 2136 server, with the code that says which and what to do. */
export class Rfc2136Error extends DnsProviderError {
  /** The answer's RCODE (e.g. REFUSED, NOTAUTH), when there was an answer. */
  readonly rcode?: string;
  /** The TSIG error of the answer (BADSIG, BADKEY, BADTIME), when it carried one. */
  readonly tsigError?: TsigErrorName;
  /** What went wrong, without the fix (doctor prints the two on their own lines). */
  readonly problem: string;
  /** What to do about it, naming the setting or the server configuration. */
  readonly fix?: string;
  constructor(problem: string, options: { cause?: unknown; transient?: boolean; rcode?: string; tsigError?: TsigErrorName; fix?: string } = {}) {
    super(options.fix ? `${problem}: ${options.fix}` : problem, options);
    this.problem = problem;
    this.fix = options.fix;
    this.rcode = options.rcode;
    this.tsigError = options.tsigError;
  }
}

/** Who was asked what, for the messages. */
export interface ExchangeContext {
  /** What nrcert was doing, e.g. "add a TXT record at _acme-challenge.example.com". */
  action: string;
  /** RFC2136_SERVER as host:port. */
  server: string;
  keyName: string;
  algorithm: string;
  /** The zone asked about, when known. */
  zone?: string;
}

const TSIG_NAMES: Record<number, TsigErrorName> = { 16: 'BADSIG', 17: 'BADKEY', 18: 'BADTIME', 22: 'BADTRUNC' };
const GUIDE = 'see the README, "Your own DNS server (RFC 2136)"';

/** The error for a TSIG error code in an answer; `denied` when it answered an update (Knot's acl refusal). */
export function tsigError(ctx: ExchangeContext, code: number, rcode: string, serverTime?: Date, denied?: { name: string }): Rfc2136Error {
  const name = TSIG_NAMES[code];
  const what = `rfc2136: failed to ${ctx.action}`;
  const opts = { rcode, tsigError: name };
  switch (name) {
    case 'BADSIG':
      return new Rfc2136Error(`${what}: ${ctx.server} refused the signature (TSIG BADSIG)`, {
        ...opts, fix: `RFC2136_TSIG_SECRET is not the secret of the key "${ctx.keyName}" there; copy the secret from the server's key file`,
      });
    case 'BADKEY': {
      // Knot answers an update its acl does not allow with BADKEY too (BIND: REFUSED).
      const acl = denied ? `; or, when the key works for queries (doctor), the server's acl does not let it change TXT records at ${denied.name} (Knot: update-owner-name; ${GUIDE})` : '';
      return new Rfc2136Error(`${what}: ${ctx.server} has no TSIG key "${ctx.keyName}" with algorithm ${ctx.algorithm} (TSIG BADKEY)`, {
        ...opts, fix: `set RFC2136_TSIG_KEY_NAME to the key's name in the server's configuration and RFC2136_TSIG_ALGORITHM to its algorithm${acl}`,
      });
    }
    case 'BADTIME': {
      const at = serverTime ? ` (the server's clock says ${serverTime.toISOString()})` : '';
      return new Rfc2136Error(`${what}: the clocks of ${ctx.server} and this machine differ by more than ${FUDGE_SECONDS} s${at} (TSIG BADTIME)`, {
        ...opts, fix: 'set the clock right (NTP) on this machine or on the server',
      });
    }
    default:
      return new Rfc2136Error(`${what}: ${ctx.server} answered TSIG error ${name ?? code}`, opts);
  }
}

/** The error for an answer whose RCODE is not NOERROR (for an update) or not an answer at all (for a query). */
export function rcodeError(ctx: ExchangeContext, rcode: string, name: string, kind: 'query' | 'update' = 'update'): Rfc2136Error {
  const what = `rfc2136: failed to ${ctx.action}`;
  const zone = ctx.zone ?? 'the zone';
  if (kind === 'query' && (rcode === 'REFUSED' || rcode === 'NOTAUTH')) {
    return new Rfc2136Error(`${what}: ${ctx.server} refused the query (${rcode}): it serves no zone holding ${name}, or does not answer this machine`, {
      rcode, fix: "check DOMAINS, RFC2136_SERVER (the zone's primary server) and RFC2136_ZONE",
    });
  }
  switch (rcode) {
    case 'NOTAUTH':
      return new Rfc2136Error(`${what}: ${ctx.server} is not authoritative for ${zone} (NOTAUTH)`, {
        rcode, fix: "set RFC2136_SERVER to the zone's primary server, or RFC2136_ZONE to a zone it serves",
      });
    case 'NOTZONE':
      return new Rfc2136Error(`${what}: ${name} is not inside the zone ${zone} (NOTZONE)`, {
        rcode, fix: 'fix RFC2136_ZONE, or leave it empty to find the zone by SOA lookup',
      });
    case 'REFUSED':
      return new Rfc2136Error(`${what}: ${ctx.server} refused it (REFUSED)`, {
        rcode, fix: `allow the key "${ctx.keyName}" to change TXT records at ${name} in ${zone} (BIND update-policy, Knot acl; ${GUIDE}), or check RFC2136_SERVER and RFC2136_ZONE`,
      });
    case 'SERVFAIL':
      return new Rfc2136Error(`${what}: ${ctx.server} failed (SERVFAIL)`, { rcode, transient: true, fix: "see the server's log; nrcert will try again later" });
    default:
      return new Rfc2136Error(`${what}: ${ctx.server} answered ${rcode}`, { rcode });
  }
}

/** The error for an answer that is not signed with our key, or not within the fudge. */
export function unverifiedError(ctx: ExchangeContext, reason: string, cause: unknown): Rfc2136Error {
  return new Rfc2136Error(`rfc2136: failed to ${ctx.action}: the answer of ${ctx.server} cannot be trusted (${reason})`, {
    cause, fix: 'check RFC2136_TSIG_SECRET, RFC2136_TSIG_KEY_NAME and that RFC2136_SERVER is your server',
  });
}

/** The error for no answer at all: refused connection, timeout, closed early. Transient. */
export function transportFailure(ctx: ExchangeContext, err: TransportError): Rfc2136Error {
  const what = `rfc2136: failed to ${ctx.action}`;
  if (err.kind === 'timeout') {
    return new Rfc2136Error(`${what}: ${ctx.server} gave no answer (${err.message})`, { cause: err, transient: true, fix: 'check RFC2136_SERVER, or raise RFC2136_TIMEOUT' });
  }
  return new Rfc2136Error(`${what}: cannot reach ${ctx.server} over TCP (${err.message})`, {
    cause: err, transient: true, fix: 'check RFC2136_SERVER (host[:port]) and that the server listens there',
  });
}

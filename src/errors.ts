/**
 * The one error hierarchy of nrcert. Every error a user can meet is an NrcertError with an exit
 * code and a message that says what failed and what to do. Messages never carry secrets: callers
 * pass names, hosts and settings, never token or key material.
 */

/** Exit codes, one per failure class, so scripts can branch on them (documented in README). */
export const ExitCode = {
  ok: 0,
  unexpected: 1,
  usage: 2,
  config: 3,
  locked: 4,
  dnsProvider: 5,
  propagation: 6,
  acme: 7,
  install: 8,
  hook: 9,
  rolledBack: 10,
  noRollback: 11,
  /** `nrcert init`: Node-RED was not seen serving the installed certificate. */
  notServed: 12,
  noClientCa: 13,
  clientExists: 14,
  unknownClient: 15,
  clientOutput: 16,
  /** The fleet's etcd cannot be reached, or its certificate cannot be opened with FLEET_KEY_FILE. */
  fleet: 17,
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Base class: a message for people, an exit code for scripts, an optional hint on what to do. */
export class NrcertError extends Error {
  readonly exitCode: ExitCode = ExitCode.unexpected;
  /** True when trying again later may succeed (network, 5xx, 429): used by retries and back-off. */
  readonly transient: boolean = false;
  /** False for outcomes that say nothing about the renewal itself (busy lock, Ctrl-C, bad settings): no back-off. */
  readonly countsAsFailure: boolean = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Wrong command-line usage. */
export class UsageError extends NrcertError {
  override readonly exitCode = ExitCode.usage;
}

/** One or more settings are invalid; `problems` lists every one, each naming its variable. */
export class ConfigError extends NrcertError {
  override readonly exitCode = ExitCode.config;
  override readonly countsAsFailure = false;
  constructor(readonly problems: string[]) {
    super(
      problems.length === 1
        ? `configuration: ${problems[0]}`
        : `configuration has ${problems.length} problems:\n  - ${problems.join('\n  - ')}`,
    );
  }
}

/** Another nrcert run holds the lock. */
export class LockedError extends NrcertError {
  override readonly exitCode = ExitCode.locked;
  override readonly countsAsFailure = false;
}

/** The DNS provider's API refused or failed (token, permissions, zone, rate limit, outage). */
export class DnsProviderError extends NrcertError {
  override readonly exitCode = ExitCode.dnsProvider;
  override readonly transient: boolean;
  constructor(message: string, options?: { cause?: unknown; transient?: boolean }) {
    super(message, options);
    this.transient = options?.transient ?? false;
  }
}

/** The TXT record never became visible at the nameservers within DNS_PROPAGATION_TIMEOUT. */
export class PropagationError extends NrcertError {
  override readonly exitCode = ExitCode.propagation;
  override readonly transient = true;
}

/**
 * The CNAME chain of a challenge name cannot be used (a loop, more CNAMEs than nrcert follows):
 * found before any order. A DNS problem, so the propagation exit code.
 */
export class DelegationError extends NrcertError {
  override readonly exitCode = ExitCode.propagation;
}

/** The ACME server refused, failed, or could not be reached. */
export class AcmeError extends NrcertError {
  override readonly exitCode = ExitCode.acme;
  override readonly transient: boolean;
  /** When the server said to come back (Retry-After), if it did. */
  readonly retryAfter?: Date;
  /** The problem document's type without its `urn:ietf:params:acme:error:` prefix (RFC 8555 §6.7). */
  readonly problemType?: string;
  /** The HTTP status of the refusal. */
  readonly status?: number;
  /** The server did not answer within ACME_TIMEOUT: not retried within the run (that would multiply the wait). */
  readonly timedOut: boolean;
  constructor(message: string, options?: { cause?: unknown; transient?: boolean; retryAfter?: Date; problemType?: string; status?: number; timedOut?: boolean }) {
    super(message, options);
    this.transient = options?.transient ?? false;
    this.timedOut = options?.timedOut ?? false;
    this.retryAfter = options?.retryAfter;
    this.problemType = options?.problemType;
    this.status = options?.status;
  }
}

/** The new certificate failed validation, or writing it to disk failed; nothing was swapped. */
export class InstallError extends NrcertError {
  override readonly exitCode = ExitCode.install;
}

/** The restart hook failed, or Node-RED did not serve the certificate in time. */
export class HookError extends NrcertError {
  override readonly exitCode = ExitCode.hook;
}

/** Node-RED did not take the new certificate, so the previous one was put back in place. */
export class RolledBackError extends NrcertError {
  override readonly exitCode = ExitCode.rolledBack;
  /** Node-RED not taking a certificate is usually passing (a restart, a slow reload). */
  override readonly transient = true;
}

/** `nrcert rollback` found no earlier certificate to go back to; nothing was changed. */
export class NoRollbackTargetError extends NrcertError {
  override readonly exitCode = ExitCode.noRollback;
  override readonly countsAsFailure = false;
}

/** `nrcert clients add/revoke/list` before `nrcert clients init`: there is no client CA. */
export class NoClientCaError extends NrcertError {
  override readonly exitCode = ExitCode.noClientCa;
  override readonly countsAsFailure = false;
}

/** `nrcert clients add NAME`: a certificate of that name is already issued and not revoked. */
export class ClientExistsError extends NrcertError {
  override readonly exitCode = ExitCode.clientExists;
  override readonly countsAsFailure = false;
}

/** `nrcert clients revoke NAME`: no certificate of that name was ever issued. */
export class UnknownClientError extends NrcertError {
  override readonly exitCode = ExitCode.unknownClient;
  override readonly countsAsFailure = false;
}

/** `nrcert clients add`: the .p12/.pem could not be written where asked; nothing was issued. */
export class ClientOutputError extends NrcertError {
  override readonly exitCode = ExitCode.clientOutput;
  override readonly countsAsFailure = false;
}

/** The run was interrupted (Ctrl-C, SIGTERM) and stopped after cleaning up. */
export class AbortedError extends NrcertError {
  override readonly exitCode = ExitCode.interrupted;
  override readonly countsAsFailure = false;
  constructor(message = 'interrupted: cleaned up and stopped; nothing was installed') {
    super(message);
  }
}

/** The exit code for any thrown value. */
export function exitCodeOf(err: unknown): number {
  return err instanceof NrcertError ? err.exitCode : ExitCode.unexpected;
}

const NOTES = new WeakMap<object, string[]>();

/** Adds a line to what describeError prints for `err` (e.g. a TXT record that could not be removed). */
export function addNote(err: unknown, note: string): void {
  if (typeof err !== 'object' || err === null) return;
  NOTES.set(err, [...(NOTES.get(err) ?? []), note]);
}

/** The message of any thrown value, including its chain of causes and its notes (one line each). */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const lines = [err.message];
  let cause = err.cause;
  for (let depth = 0; cause instanceof Error && depth < 4; depth++) {
    if (!lines.some((l) => l.includes(cause instanceof Error ? cause.message : ''))) {
      lines.push(`caused by: ${cause.message}`);
    }
    cause = cause.cause;
  }
  lines.push(...(NOTES.get(err) ?? []));
  return lines.join('\n  ');
}

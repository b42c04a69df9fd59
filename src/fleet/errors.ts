/** The fleet's errors, in the one hierarchy of src/errors.ts (exit code 17). */
import { ExitCode, NrcertError } from '../errors';

/** etcd did not answer, or refused a request; `detail` is etcd's own message (never a secret). */
export class EtcdError extends NrcertError {
  override readonly exitCode = ExitCode.fleet;
  override readonly transient = true;
  override readonly countsAsFailure = false;
  readonly status?: number;
  readonly detail: string;
  constructor(message: string, options: { status?: number; detail: string; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.status = options.status;
    this.detail = options.detail;
  }
}

/** The fleet's private key does not open with this host's FLEET_KEY_FILE (wrong key, or tampered data). */
export class FleetKeyError extends NrcertError {
  override readonly exitCode = ExitCode.fleet;
}

/** This run lost the fleet's renewal lock (its lease ended) before it could publish. */
export class FleetLockLostError extends NrcertError {
  override readonly exitCode = ExitCode.fleet;
  override readonly transient = true;
}

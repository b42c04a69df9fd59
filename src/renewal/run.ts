import type { Installed } from '../store/types';
import type { RenewalInfo } from '../acme/ari';
import type { Issuer } from './ports';
import type { RenewalState } from './state';

/**
 * One run under the lock: the state read at its start; what is installed, read once and then kept
 * up to date by the run itself (installCurrent); what ARI said about it; whether an order was placed.
 */
export interface RunContext {
  state: RenewalState;
  installed: Installed | null;
  ari?: RenewalInfo;
  ordered: boolean;
  /** The issuer, once this run needed one (its leftovers are reported). */
  issuer?: Issuer;
}

/** CERT_DIR switched to `installed`: the run's view follows (and ARI's answer, about the old one, no longer applies). */
export function installCurrent(run: RunContext, installed: Installed): void {
  run.installed = installed;
  run.ari = undefined;
}

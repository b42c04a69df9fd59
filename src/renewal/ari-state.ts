import type { Logger } from '../log';
import type { Config } from '../config/config';
import { certificateId, chooseRenewalTime, fetchRenewalInfo, type RenewalInfo } from '../acme/ari';
import { readState, writeState } from '../store/state';
import { statePath } from '../store/state-dir';

/** What the caller keeps between runs (STATE_DIR/ari.json): the last answer and the chosen time, as ISO dates. */
export interface AriState {
  certId: string;
  window: { start: string; end: string };
  chosenAt: string;
  retryAfter: string;
  explanationURL?: string;
}

/** The saved state as the runtime shape (decideRenewal's `ari` input), or undefined when it is about another certificate. */
export function fromAriState(state: AriState | null | undefined, certId: string): RenewalInfo | undefined {
  if (!state || state.certId !== certId) return undefined;
  const window = { start: new Date(state.window.start), end: new Date(state.window.end) };
  return { certId, window, chosenAt: new Date(state.chosenAt), retryAfter: new Date(state.retryAfter), explanationURL: state.explanationURL };
}

/**
 * Brings the saved ARI state up to date for the installed certificate: reuses it until its
 * Retry-After; otherwise asks the CA, keeping the chosen time while the window stays put. When
 * the CA cannot be asked, the earlier answer for this certificate (if any) still stands.
 * Returns the state to save (null: no ARI for this certificate) and a line for the log.
 */
export async function refreshRenewalInfo(input: {
  directoryUrl: string;
  /** The certificate's ARI id (certificateId), parsed once by the caller. */
  certId: string;
  previous?: AriState | null;
  now: Date;
  random?: () => number;
  timeoutMs?: number;
  ca?: string | Buffer;
}): Promise<{ state: AriState | null; fetched: boolean; reason: string }> {
  const { now, certId } = input;
  const previous = input.previous?.certId === certId ? input.previous : null;
  if (previous && new Date(previous.retryAfter) > now) {
    return { state: previous, fetched: false, reason: `renewal window fetched earlier; next ARI check after ${previous.retryAfter}` };
  }
  const result = await fetchRenewalInfo(input.directoryUrl, certId, { now, timeoutMs: input.timeoutMs, ca: input.ca });
  if (!result.ok) {
    const kept = previous ? '; keeping the window fetched earlier' : '';
    return { state: previous, fetched: false, reason: `${result.reason}${kept}` };
  }
  const { window, retryAfter, explanationURL } = result.info;
  const chosenAt = chooseRenewalTime(window, fromAriState(previous, certId), input.random);
  const state: AriState = {
    certId, window: { start: window.start.toISOString(), end: window.end.toISOString() },
    chosenAt: chosenAt.toISOString(), retryAfter: retryAfter.toISOString(),
  };
  if (explanationURL) state.explanationURL = explanationURL;
  return { state, fetched: true, reason: `the CA suggests renewing between ${state.window.start} and ${state.window.end}` };
}

/**
 * Asks the CA's renewalInfo about the installed certificate (RFC 9773), at most as often as its
 * Retry-After allows, keeping the randomly chosen renewal time in STATE_DIR/ari.json so every run
 * sees the same one. ARI is advice: any failure leaves the one-third rule in charge.
 */
export async function currentAri(config: Config, certPem: string, deps: { logger: Logger; now: () => Date }): Promise<RenewalInfo | undefined> {
  let id: string;
  try {
    id = certificateId(certPem);
  } catch {
    return undefined; // e.g. a self-signed certificate without an authority key id
  }
  const path = statePath(config.stateDir, 'ari');
  const previous = await readState<AriState | null>(path, null).catch(() => null);
  const result = await refreshRenewalInfo({ directoryUrl: config.acme.directoryUrl, certId: id, previous, now: deps.now() });
  deps.logger.debug({ fetched: result.fetched }, `ARI: ${result.reason}`);
  if (result.state && JSON.stringify(result.state) !== JSON.stringify(previous)) await writeState(path, result.state);
  return fromAriState(result.state, id);
}

/** The ARI answer kept from the last run for the installed certificate, without asking the CA. */
export async function savedRenewalInfo(config: Config, certPem: string): Promise<RenewalInfo | undefined> {
  const state = await readState<AriState | null>(statePath(config.stateDir, 'ari'), null).catch(() => null);
  if (!state) return undefined;
  try {
    return fromAriState(state, certificateId(certPem));
  } catch {
    return undefined;
  }
}

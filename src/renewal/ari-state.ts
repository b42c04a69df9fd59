import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log';
import type { Config } from '../config/config';
import { certificateId, ariAdvice, refreshRenewalInfo, type AriState } from '../acme/ari';
import { readInstalledCertificate } from '../store/pem';
import { readState, writeState } from '../store/state';
import type { AriAdvice } from './policy';

/** What ARI says about the installed certificate: advice for the policy, the id for `replaces`. */
export interface AriView {
  advice?: AriAdvice;
  /** The installed certificate's ARI id, when the CA knows it (sent as `replaces`). */
  replaces?: string;
}

/**
 * Asks the CA's renewalInfo about the installed certificate (RFC 9773), at most as often as its
 * Retry-After allows, keeping the randomly chosen renewal time in STATE_DIR/ari.json so every run
 * sees the same one. ARI is advice: any failure leaves the one-third rule in charge.
 */
export async function currentAri(config: Config, deps: { logger: Logger; now: () => Date }): Promise<AriView> {
  const installed = await readInstalledCertificate(config.certDir).catch(() => null);
  if (!installed) return {};
  const certPem = await readFile(installed.files['cert.pem'], 'utf8');
  let id: string;
  try {
    id = certificateId(certPem);
  } catch {
    return {}; // e.g. a self-signed certificate without an authority key id
  }
  const path = join(config.stateDir, 'ari.json');
  const previous = await readState<AriState | null>(path, null).catch(() => null);
  const result = await refreshRenewalInfo({ directoryUrl: config.acme.directoryUrl, certPem, previous, now: deps.now() });
  deps.logger.debug({ fetched: result.fetched }, `ARI: ${result.reason}`);
  if (result.state && JSON.stringify(result.state) !== JSON.stringify(previous)) await writeState(path, result.state);
  const advice = ariAdvice(result.state, id);
  return { advice, replaces: advice ? id : undefined };
}

/** The ARI advice kept from the last run for the installed certificate, without asking the CA. */
export async function savedAriAdvice(config: Config, certPemPath: string): Promise<AriAdvice | undefined> {
  const state = await readState<AriState | null>(join(config.stateDir, 'ari.json'), null).catch(() => null);
  if (!state) return undefined;
  try {
    return ariAdvice(state, certificateId(await readFile(certPemPath, 'utf8')));
  } catch {
    return undefined;
  }
}

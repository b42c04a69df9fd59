/**
 * Certificate profiles (draft-ietf-acme-profiles; Let's Encrypt: classic, tlsserver, shortlived):
 * the directory lists them in `meta.profiles` (name → description) and a new order names one in
 * its `profile` field. A profile the CA does not list would be refused at order time, or worse,
 * silently ignored by a CA that knows no profiles; so it is checked before ordering.
 */
import type { Client } from 'acme-client';
import { AcmeError } from '../errors';

/** The profiles a directory advertises: name → description (empty when it advertises none). */
export function advertisedProfiles(directory: unknown): Record<string, string> {
  const profiles = (directory as { meta?: { profiles?: unknown } } | null | undefined)?.meta?.profiles;
  if (typeof profiles !== 'object' || profiles === null || Array.isArray(profiles)) return {};
  return Object.fromEntries(Object.entries(profiles).map(([name, text]) => [name, typeof text === 'string' ? text : '']));
}

/** Throws AcmeError, naming ACME_PROFILE and what the CA offers, unless `profile` is advertised. */
export function requireProfile(directory: unknown, profile: string, directoryUrl: string): void {
  const offered = advertisedProfiles(directory);
  if (Object.hasOwn(offered, profile)) return;
  const host = hostOf(directoryUrl);
  const names = Object.keys(offered);
  if (names.length === 0) {
    throw new AcmeError(`ACME_PROFILE is "${profile}", but the ACME server at ${host} advertises no certificate profiles; leave ACME_PROFILE empty for this CA`);
  }
  const list = names.map((n) => (offered[n] ? `${n} (${offered[n]})` : n)).join(', ');
  throw new AcmeError(`ACME_PROFILE: the ACME server at ${host} does not offer the profile "${profile}"; it offers ${list}. Set ACME_PROFILE to one of these, or leave it empty for the CA's default`);
}

/**
 * Checks `profile` against the directory as acme-client already fetched and cached it (one round
 * trip fewer, the same TLS settings as every other ACME call). acme-client 5.4 exposes no
 * public accessor for the directory, so this reaches into `client.api.http`.
 */
export async function requireClientProfile(client: Client, profile: string): Promise<void> {
  type Http = { directoryUrl?: string; getDirectory?: () => Promise<unknown> };
  const http = (client as unknown as { api?: { http?: Http } }).api?.http;
  if (typeof http?.getDirectory !== 'function') throw new AcmeError('this acme-client version hides the ACME directory, so ACME_PROFILE cannot be checked');
  requireProfile(await http.getDirectory(), profile, http.directoryUrl ?? 'the ACME directory');
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

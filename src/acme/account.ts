import { createHash } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { asOwnerOf } from '../privilege/as-owner';
import { statePath } from '../store/state-dir';
import type { Client } from 'acme-client';
import type { Logger } from '../log';
import type { Config } from '../config/config';
import { readRegularFileSync, writeFileAtomicSync } from '../store/atomic';
import { withRetry } from '../util/retry';
import { guardBadNonce, installAcmeHttpGuards } from './http';

/** Where one ACME account lives: one folder per directory URL under STATE_DIR/accounts. */
export function accountDir(stateDir: string, directoryUrl: string): string {
  const url = new URL(directoryUrl);
  const digest = createHash('sha256').update(directoryUrl).digest('hex').slice(0, 10);
  return join(statePath(stateDir, 'accounts'), `${url.host.replace(/[^a-z0-9.-]/gi, '_')}-${digest}`);
}

/** acme-client's polling back-off: short, so a renewal is bounded by round trips, not sleeps. */
const BACKOFF = { backoffAttempts: 24, backoffMin: 100, backoffMax: 2000 };

/**
 * An acme-client Client for the configured directory, with the account key created once (0600)
 * and reused, and the account registered on first use (its URL is kept beside the key, so
 * later runs skip the registration round trip).
 */
export async function openAccount(
  config: Config,
  directoryUrl: string,
  deps: { logger: Logger; signal?: AbortSignal },
): Promise<Client> {
  const acme = require('acme-client') as typeof import('acme-client');
  installAcmeHttpGuards(acme, config.acme.timeoutMs);
  acme.setLogger((message: string) => deps.logger.trace({ acme: message }, 'acme-client'));
  const dir = accountDir(config.stateDir, directoryUrl);
  const keyPath = join(dir, 'account.key');
  let accountKey: Buffer | null = accountFiles(config.stateDir, () => {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const text = readRegularFileSync(keyPath);
    return text === null ? null : Buffer.from(text);
  });
  if (!accountKey) {
    const created = Buffer.from(await acme.crypto.createPrivateEcdsaKey('P-256'));
    accountFiles(config.stateDir, () => writeFileAtomicSync(keyPath, created, 0o600));
    accountKey = created;
    deps.logger.info({ dir }, 'created a new ACME account key');
  }
  const saved = readSavedAccount(config.stateDir, join(dir, 'account.json'));
  const eab = config.acme.eab ? { kid: config.acme.eab.kid, hmacKey: config.acme.eab.hmacKey.reveal() } : undefined;
  const client = new acme.Client({ directoryUrl, accountKey, accountUrl: saved.url, externalAccountBinding: eab, ...BACKOFF });
  guardBadNonce(client, directoryUrl);
  if (!saved.url) await registerAccount(client, config, dir, deps);
  return client;
}

/** Forgets the remembered account URL (the CA no longer knows it), so the next open registers again. */
export async function forgetAccount(stateDir: string, directoryUrl: string): Promise<void> {
  accountFiles(stateDir, () => rmSync(join(accountDir(stateDir, directoryUrl), 'account.json'), { force: true }));
}

/**
 * Runs file work on the account files as STATE_DIR's owner when root (privilege/as-owner.ts): the
 * files then belong to whoever runs the service, and a link planted there leads nowhere root-only.
 */
function accountFiles<T>(stateDir: string, work: () => T extends PromiseLike<unknown> ? never : T): T {
  return asOwnerOf(stateDir, work);
}

/** The remembered account URL, if any (a broken or missing file: register again). */
function readSavedAccount(stateDir: string, path: string): { url?: string } {
  try {
    const text = accountFiles(stateDir, () => readRegularFileSync(path));
    return text === null ? {} : (JSON.parse(text) as { url?: string });
  } catch {
    return {};
  }
}

async function registerAccount(client: Client, config: Config, dir: string, deps: { logger: Logger; signal?: AbortSignal }): Promise<void> {
  const contact = config.acme.email ? [`mailto:${config.acme.email}`] : undefined;
  await withRetry('ACME account registration', () => client.createAccount({ termsOfServiceAgreed: true, contact }), deps);
  const url = client.getAccountUrl();
  accountFiles(config.stateDir, () => writeFileAtomicSync(join(dir, 'account.json'), `${JSON.stringify({ url }, null, 2)}\n`, 0o600));
  deps.logger.info({ account: url }, 'ACME account registered');
}

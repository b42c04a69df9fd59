import type { Authorization, Client, Order } from 'acme-client';
import type { OrderCreateRequest } from 'acme-client/types/rfc8555';
import type { Logger } from '../log';
import type { KeyType } from '../config/config';
import type { DnsProvider, PresentedRecord } from '../dns/provider';
import type { CertificateSet } from '../store/types';
import { AcmeError } from '../errors';
import { splitPemCertificates } from '../store/pem';
import { nameserversFor, waitForTxt } from '../dns/propagation';
import { publishName, type PublishAt } from '../dns/delegation';
import { challengeRecordName } from '../config/domains';
import { withRetry } from '../util/retry';
import { abortable, sleep, withTimeout } from '../util/sleep';
import { NO_PROGRESS, type Progress } from '../util/progress';
import { requireClientProfile } from './profile';

/** Everything one ACME order needs; all of it passed in, nothing read from the environment. */
export interface OrderRequest {
  client: Client;
  names: string[];
  keyType: KeyType;
  dns: DnsProvider;
  resolvers?: string[];
  propagationTimeoutMs: number;
  logger: Logger;
  signal?: AbortSignal;
  /** ARI id (RFC 9773 §5) of the certificate this order replaces; send only when the CA offers ARI. */
  replaces?: string;
  /** ACME_PROFILE: must be advertised in the directory's meta.profiles. */
  profile?: string;
  /** Shows long waits on a terminal (propagation, validation). */
  progress?: Progress;
  /** Where each challenge name's value is published when a CNAME delegates it (acme/challenge-plan.ts); itself otherwise. */
  publishAt?: PublishAt;
}

interface PendingChallenge {
  authz: Authorization;
  challenge: Authorization['challenges'][number];
  /** `_acme-challenge.<identifier>`, where the CA looks (RFC 8555 §8.4). */
  name: string;
  /** Where the value is published: `name`, or the end of its CNAME chain. */
  fqdn: string;
  value: string;
}

/**
 * Obtains one certificate for all `names` over DNS-01 (RFC 8555 §7.4, §8.4): order, publish
 * every TXT value at once (apex and wildcard share `_acme-challenge.<domain>`, or the end of its
 * CNAME chain when `publishAt` says so), wait until every nameserver answers them, tell the CA,
 * wait for validation, remove the records (always, on a fresh timeout, by record id), then
 * finalise with a CSR from a fresh key. A provider that holds one value per name
 * (`dns.sequential`, DuckDNS) gets one authorization at a time instead.
 */
export async function obtainCertificate(req: OrderRequest): Promise<CertificateSet> {
  const { client, logger, signal } = req;
  const retry = <T>(what: string, fn: () => Promise<T>) => withRetry(what, fn, { logger, signal });
  let order = await placeOrder(req);
  logger.info({ names: req.names, order: order.url, profile: req.profile, replaces: req.replaces }, 'ACME order created');
  const authzs = await retry('reading authorizations', () => client.getAuthorizations(order));
  const pending = await Promise.all(authzs.filter((a) => a.status !== 'valid').map((a) => dnsChallenge(client, a, req.publishAt)));
  await validate(req, pending);
  const { privkey, csr } = await makeCsr(req.names, req.keyType);
  order = await retry('finalising the order', () => client.finalizeOrder(order, csr));
  if (order.status !== 'valid') order = (await abortable(client.waitForValidStatus(order), signal)) as Order;
  const pem = await retry('downloading the certificate', () => client.getCertificate(order));
  logger.info({ order: order.url }, 'certificate issued');
  return toCertificateSet(privkey, pem);
}

/** newOrder's payload: RFC 8555 §7.4 plus `profile` (draft-ietf-acme-profiles) and `replaces` (RFC 9773 §5). */
type NewOrderPayload = OrderCreateRequest & { profile?: string; replaces?: string };

/**
 * Creates the order (acme-client passes the payload through as is). When the CA refuses the
 * `replaces` — already replaced (alreadyReplaced, or 409 conflict from CAs predating RFC 9773)
 * or not a certificate it knows (400 malformed) — it orders once more without it: ARI must
 * never stand between the user and a certificate.
 */
async function placeOrder(req: OrderRequest): Promise<Order> {
  const { client, logger, signal } = req;
  if (req.profile) await withRetry('reading the ACME directory', () => requireClientProfile(client, req.profile!), { logger, signal });
  const payload: NewOrderPayload = { identifiers: req.names.map((value) => ({ type: 'dns', value })) };
  if (req.profile) payload.profile = req.profile;
  const create = (p: NewOrderPayload) => withRetry('creating the ACME order', () => client.createOrder(p), { logger, signal });
  if (!req.replaces) return create(payload);
  try {
    return await create({ ...payload, replaces: req.replaces });
  } catch (err) {
    if (!refusesReplaces(err)) throw err;
    logger.warn({ replaces: req.replaces, error: (err as Error).message }, 'the ACME server refused to mark the old certificate as replaced (ARI); ordering without "replaces"');
    return create(payload);
  }
}

function refusesReplaces(err: unknown): boolean {
  if (!(err instanceof AcmeError)) return false;
  const { problemType, status } = err as AcmeError;
  return problemType === 'alreadyReplaced' || problemType === 'conflict' || status === 409 || (status === 400 && problemType === 'malformed');
}

/**
 * Picks the dns-01 challenge of an authorization. Every other type is ignored, known or not:
 * CAs add new ones (Let's Encrypt staging lists `dns-persist-01`), and RFC 8555 §7.1.4 lets the
 * client answer any one it supports.
 */
async function dnsChallenge(client: Client, authz: Authorization, publishAt?: PublishAt): Promise<PendingChallenge> {
  const challenge = authz.challenges.find((c) => c.type === 'dns-01');
  if (!challenge) {
    const offered = authz.challenges.map((c) => c.type).join(', ') || 'none';
    throw new AcmeError(`the ACME server offers no dns-01 challenge for ${authz.identifier.value} (it offers ${offered}); this CA cannot issue it over DNS`);
  }
  const value = await client.getChallengeKeyAuthorization(challenge);
  const name = challengeRecordName(authz.identifier.value);
  return { authz, challenge, name, fqdn: publishName(publishAt, name), value };
}

async function validate(req: OrderRequest, pending: PendingChallenge[]): Promise<void> {
  if (pending.length === 0) return;
  if (req.dns.sequential) return validateOneByOne(req, pending, req.dns.sequential.intervalMs);
  const { client, dns, logger, signal } = req;
  const records: PresentedRecord[] = [];
  try {
    // The provider retries 429/5xx itself, bounded and interruptible (dns/cloudflare/fetch.ts); no second layer here.
    for (const p of pending) records.push(await dns.present(p.fqdn, p.value));
    for (const fqdn of new Set(pending.map((p) => p.fqdn))) {
      const servers = await nameserversFor(await dns.zoneOf(fqdn), req.resolvers);
      const values = pending.filter((p) => p.fqdn === fqdn).map((p) => p.value);
      await waitForTxt(fqdn, values, servers, { timeoutMs: req.propagationTimeoutMs, logger, signal, progress: req.progress });
    }
    await Promise.all(pending.map((p) => withRetry('answering the challenge', () => client.completeChallenge(p.challenge), { logger, signal })));
    await showWhile(req.progress ?? NO_PROGRESS, `waiting for the CA to validate ${pending.length} authorization(s)`,
      Promise.all(pending.map((p) => abortable(waitForChallenge(client, p), signal))));
    logger.info({ authorizations: pending.length }, 'DNS-01 challenges validated');
  } finally {
    await removeRecords(dns, records, logger);
  }
}

/**
 * For a provider with one TXT value per name: each authorization in turn publishes its value
 * (replacing the one before), waits until exactly that value is seen at every nameserver, is
 * answered (RFC 8555 §7.5.1) and waited for until valid, and only then the next one starts, after
 * `intervalMs` (resolvers of the CA may still hold the previous value for its TTL). Every record
 * is cleaned up at the end, on every path.
 */
async function validateOneByOne(req: OrderRequest, pending: PendingChallenge[], intervalMs: number): Promise<void> {
  const { client, dns, logger, signal } = req;
  const progress = req.progress ?? NO_PROGRESS;
  const records: PresentedRecord[] = [];
  try {
    for (const [i, p] of pending.entries()) {
      const which = `${p.authz.identifier.value}${p.authz.wildcard ? ' (wildcard)' : ''}, ${i + 1} of ${pending.length}`;
      if (i > 0 && intervalMs > 0) {
        logger.info({ waitMs: intervalMs }, `${dns.name} keeps one TXT value per name: pausing before the next authorization`);
        await showWhile(progress, `pausing ${Math.round(intervalMs / 1000)} s before the next authorization`, sleep(intervalMs, signal));
      }
      records.push(await dns.present(p.fqdn, p.value));
      const servers = await nameserversFor(await dns.zoneOf(p.fqdn), req.resolvers);
      await waitForTxt(p.fqdn, [p.value], servers, { timeoutMs: req.propagationTimeoutMs, logger, signal, progress: req.progress });
      await withRetry('answering the challenge', () => client.completeChallenge(p.challenge), { logger, signal });
      await showWhile(progress, `waiting for the CA to validate ${which}`, abortable(waitForChallenge(client, p), signal));
      logger.info({ identifier: which }, 'DNS-01 challenge validated');
    }
  } finally {
    await removeRecords(dns, records, logger);
  }
}

async function waitForChallenge(client: Client, p: PendingChallenge): Promise<void> {
  try {
    await client.waitForValidStatus(p.challenge);
  } catch (err) {
    if (err instanceof AcmeError) throw err;
    throw new AcmeError(
      `the ACME server could not validate ${p.name}${p.fqdn !== p.name ? ` (a CNAME to ${p.fqdn})` : ''}${p.authz.wildcard ? ' (wildcard)' : ''}: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/** Removes every record we created, each on its own bounded timeout; failures are logged, not thrown. */
async function removeRecords(dns: DnsProvider, records: PresentedRecord[], logger: Logger): Promise<void> {
  await Promise.all(
    records.map(async (record) => {
      try {
        await withTimeout(dns.cleanup(record), 30_000, () => new Error('timed out after 30 s'));
      } catch (err) {
        logger.error({ fqdn: record.fqdn, recordId: record.id, error: (err as Error).message }, 'could not remove a TXT record; the next run removes it');
      }
    }),
  );
}

async function makeCsr(names: string[], keyType: KeyType): Promise<{ privkey: Buffer; csr: Buffer }> {
  const { crypto } = require('acme-client') as typeof import('acme-client');
  const privkey = keyType.startsWith('rsa')
    ? await crypto.createPrivateRsaKey(Number(keyType.slice(4)))
    : await crypto.createPrivateEcdsaKey(keyType === 'ecdsa-p384' ? 'P-384' : 'P-256');
  const commonName = names.find((n) => !n.startsWith('*.') && n.length <= 64);
  const [, csr] = await crypto.createCsr({ commonName, altNames: [...names] }, privkey);
  return { privkey, csr };
}

function toCertificateSet(privkey: Buffer, pem: string): CertificateSet {
  const blocks = splitPemCertificates(pem);
  if (blocks.length === 0) throw new AcmeError('the ACME server returned no certificate');
  const [cert, ...chain] = blocks;
  return { privkey: privkey.toString(), cert, chain: chain.join(''), fullchain: blocks.join('') };
}

/** Shows `text` with the seconds elapsed while `work` runs. */
async function showWhile<T>(progress: Progress, text: string, work: Promise<T>): Promise<T> {
  const started = Date.now();
  const timer = setInterval(() => progress.update(`${text}  ${Math.round((Date.now() - started) / 1000)} s`), 1000);
  try {
    return await work;
  } finally {
    clearInterval(timer);
    progress.done();
  }
}

/**
 * DNS-01 through RFC 2136 dynamic updates, TSIG-signed, at the user's own primary server
 * (BIND, Knot, PowerDNS). Each authorization adds exactly one TXT value and deletes exactly that
 * value again (class NONE, RFC 2136 §2.5.4), so apex and wildcard, which share
 * `_acme-challenge.<name>`, never take each other's value away. A DNS record has no id or comment:
 * the value itself (a key authorization digest only this run knows) is the record's identity,
 * journalled in STATE_DIR before the update is sent so a crashed run's value is swept next time.
 */
import { challengeRecordName } from '../../config/domains';
import { fail, ok, skip, type CheckResult } from '../../doctor/types';
import type { Logger } from '../../log';
import { AbortedError } from '../../errors';
import { TxtRecordJournal } from '../journal';
import type { DnsProvider, LeftoverRecord, PresentedRecord } from '../provider';
import { Rfc2136Client } from './client';
import type { Rfc2136Settings } from './config';
import { Rfc2136Error } from './errors';
import type { Secret } from '../../config/secret';

/** The TTL of the TXT records published: short, so a stale answer does not linger in caches. */
export const RECORD_TTL = 60;

/** What the provider needs: its settings (with the secret), the journal's dir, the logger, the run's signal. */
export interface Rfc2136Options extends Rfc2136Settings {
  secret: Secret;
  logger: Logger;
  stateDir?: string;
  signal?: AbortSignal;
  /** The clock TSIG signs with (tests skew it). */
  now?: () => number;
}

/** A DnsProvider that updates the zone at RFC2136_SERVER with the RFC2136_TSIG_* key. */
export class Rfc2136DnsProvider implements DnsProvider {
  readonly name = 'rfc2136';
  readonly client: Rfc2136Client;
  readonly #zones = new Map<string, string>();
  readonly #journal?: TxtRecordJournal;
  readonly #leftovers = new Map<string, LeftoverRecord>();
  #zoneProven?: Promise<void>;

  constructor(private readonly options: Rfc2136Options) {
    this.client = new Rfc2136Client({
      server: options.server,
      key: { name: options.keyName, algorithm: options.algorithm, secret: options.secret },
      timeoutMs: options.timeoutMs,
      signal: options.signal,
      now: options.now,
    });
    if (options.stateDir) this.#journal = new TxtRecordJournal(options.stateDir, this.name);
  }

  /**
   * The zone holding `fqdn`, from a signed SOA query (of RFC2136_ZONE when set, else of the
   * name): a wrong key, secret or clock fails here, and the issuer asks before any order.
   */
  async zoneOf(fqdn: string): Promise<string> {
    const name = fqdn.replace(/\.$/, '').toLowerCase();
    const cached = this.#zones.get(name);
    if (cached) return cached;
    const zone = this.options.zone ? await this.#configuredZone(name, this.options.zone) : await this.client.zoneOf(name);
    if (!zone) {
      throw new Rfc2136Error(`rfc2136: ${this.client.serverLabel} holds no zone with ${name} (no authoritative SOA in its answer)`, {
        fix: 'check DOMAINS and RFC2136_SERVER, or set RFC2136_ZONE',
      });
    }
    this.#zones.set(name, zone);
    return zone;
  }

  async #configuredZone(name: string, zone: string): Promise<string> {
    if (!`.${name}`.endsWith(`.${zone}`)) {
      throw new Rfc2136Error(`rfc2136: RFC2136_ZONE is ${zone}, which does not hold ${name}`, { fix: 'fix RFC2136_ZONE or DOMAINS, or leave RFC2136_ZONE empty' });
    }
    this.#zoneProven ??= this.client.zoneOf(zone, `check the zone ${zone} (RFC2136_ZONE)`).then((found) => {
      if (found !== zone) {
        throw new Rfc2136Error(`rfc2136: ${this.client.serverLabel} is not authoritative for ${zone} (RFC2136_ZONE)${found ? `; it holds ${found}` : ''}`, {
          fix: 'fix RFC2136_ZONE or RFC2136_SERVER',
        });
      }
    });
    await this.#zoneProven;
    return zone;
  }

  /** Adds the one value at `fqdn`, journalled first; a refused update is dropped from the journal again. */
  async present(fqdn: string, value: string): Promise<PresentedRecord> {
    const zone = await this.zoneOf(fqdn);
    await this.#journal?.add(fqdn, value, zone);
    try {
      await this.client.update(zone, [{ op: 'add', name: fqdn, value, ttl: RECORD_TTL }], `add a TXT record at ${fqdn}`);
    } catch (err) {
      // A refusal (an answer with an RCODE or TSIG error) changed nothing; no answer may have.
      if (err instanceof Rfc2136Error && (err.rcode || err.tsigError)) await this.#journal?.remove({ fqdn, value }).catch(() => undefined);
      throw err;
    }
    this.options.logger.debug({ fqdn, zone }, 'TXT record added');
    return { fqdn, value, id: value, zoneId: zone };
  }

  /** Deletes exactly the value `present` added (gone already is fine), then its journal entry. */
  async cleanup(record: PresentedRecord): Promise<void> {
    const key = `${record.fqdn} ${record.value}`;
    try {
      await this.client.update(record.zoneId, [{ op: 'delete', name: record.fqdn, value: record.value }], `delete a TXT record at ${record.fqdn}`);
    } catch (err) {
      this.#leftovers.set(key, { name: record.fqdn });
      throw err;
    }
    this.#leftovers.delete(key);
    this.options.logger.debug({ fqdn: record.fqdn }, 'TXT record deleted');
    await this.#journal?.remove(record).catch((err: Error) =>
      this.options.logger.warn({ fqdn: record.fqdn, error: err.message }, 'could not drop the deleted TXT record from STATE_DIR; the next sweep does'));
  }

  leftovers(): LeftoverRecord[] {
    return [...this.#leftovers.values()].map((r) => ({ ...r }));
  }

  /**
   * Deletes every value the journal holds from an earlier run, by value (a delete of a value no
   * longer there changes nothing). One that cannot be deleted now stays journalled, is logged
   * and listed in leftovers(); it does not stop the renewal.
   */
  async sweep(_fqdns: string[]): Promise<number> {
    let removed = 0;
    for (const entry of (await this.#journal?.entries()) ?? []) {
      try {
        await this.cleanup({ fqdn: entry.fqdn, value: entry.value, id: entry.value, zoneId: entry.zoneId });
        removed++;
      } catch (err) {
        if (err instanceof AbortedError) throw err;
        this.options.logger.warn({ fqdn: entry.fqdn, error: (err as Error).message }, 'could not remove a TXT record an earlier run left behind; trying again next run');
      }
    }
    if (removed > 0) this.options.logger.warn({ removed }, 'removed TXT records left behind by an earlier interrupted run');
    return removed;
  }
}

/**
 * `nrcert doctor`'s check of RFC2136_*: a signed SOA query per challenge name proves the key
 * (rfc2136.key: the server knows it, the secret signs, the clocks agree) and finds the zone each
 * name's TXT record goes into (rfc2136.zone). Nothing is changed at the server.
 */
/** The doctor lines for RFC 2136: rfc2136.key, then rfc2136.zone. */
export async function checkRfc2136(settings: Rfc2136Settings, ctx: { domains: string[]; logger: Logger }): Promise<CheckResult[]> {
  if (!settings.secret) return [skip('rfc2136.key', 'RFC2136_TSIG_SECRET is not set', 'set RFC2136_TSIG_SECRET or RFC2136_TSIG_SECRET_FILE')];
  const provider = new Rfc2136DnsProvider({ ...settings, secret: settings.secret, logger: ctx.logger });
  const names = [...new Set(ctx.domains.map(challengeRecordName))];
  const zones: string[] = [];
  for (const name of names) {
    try {
      zones.push(`${name} in ${await provider.zoneOf(name)}`);
    } catch (err) {
      const keyFailed = err instanceof Rfc2136Error && (err.tsigError !== undefined || err.transient);
      const [message, fix] = err instanceof Rfc2136Error ? [err.problem, err.fix] : [(err as Error).message, undefined];
      if (keyFailed) return [fail('rfc2136.key', message, fix), skip('rfc2136.zone', 'not checked: the key check failed')];
      return [ok('rfc2136.key', keyAccepted(provider, settings)), fail('rfc2136.zone', message, fix)];
    }
  }
  return [ok('rfc2136.key', keyAccepted(provider, settings)), ok('rfc2136.zone', `the TXT records go to ${zones.join(', ')}`)];
}

function keyAccepted(provider: Rfc2136DnsProvider, settings: Rfc2136Settings): string {
  return `${provider.client.serverLabel} accepts the TSIG key "${settings.keyName}" (${settings.algorithm}) and signs its answers with it`;
}

/**
 * DNS-01 through DuckDNS (https://www.duckdns.org/spec.jsp). DuckDNS keeps ONE TXT value per
 * domain `<sub>.duckdns.org`, served at that name and at every name below it, so
 * `_acme-challenge.<sub>.duckdns.org` answers it too. The apex and the wildcard authorization
 * both need a value at that name, and a new value replaces the old: the provider declares
 * `sequential`, and the order engine validates one authorization after the other (lego's
 * `challenge.SequentialProvider`; acme/order.ts).
 *
 * Records are domains here: `present` replaces the domain's value, `cleanup` clears it once
 * (a record already replaced by a later `present` is gone, so only the first cleanup after a
 * present sends `clear=true`), and `sweep` clears every domain before the order, which also
 * checks DUCKDNS_TOKEN and DOMAINS against the account before anything is ordered: DuckDNS has
 * no read-only call to do that with. The domain's TXT value is nrcert's while it runs.
 */
import type { Logger } from '../../log';
import type { Secret } from '../../config/secret';
import type { DnsProvider, LeftoverRecord, PresentedRecord } from '../provider';
import { AbortedError } from '../../errors';
import { duckDnsSubdomain } from './config';
import { DuckDnsClient } from './client';
import { notDuckDnsError } from './errors';

/** The zone every DuckDNS domain lives in: its NS records name DuckDNS's own nameservers. */
export const DUCKDNS_ZONE = 'duckdns.org';

/** What the DuckDNS provider needs. */
export interface DuckDnsOptions {
  token: Secret;
  baseURL: string;
  timeoutMs: number;
  /** DUCKDNS_SEQUENCE_INTERVAL: the engine's pause between two authorizations. */
  sequenceIntervalMs: number;
  logger: Logger;
  /** The run's signal: stops updates and their retry waits; clears still run after it. */
  signal?: AbortSignal;
  /** First back-off after a transient failure; tests shorten it. */
  retryDelayMs?: number;
}

/** DuckDNS behind the DnsProvider interface. */
export class DuckDnsProvider implements DnsProvider {
  readonly name = 'duckdns';
  readonly sequential: { intervalMs: number };
  readonly #client: DuckDnsClient;
  /** Domains that may hold a value nrcert published and has not cleared yet. */
  readonly #published = new Set<string>();
  readonly #leftovers = new Map<string, LeftoverRecord>();

  constructor(private readonly options: DuckDnsOptions) {
    this.sequential = { intervalMs: options.sequenceIntervalMs };
    this.#client = new DuckDnsClient({ ...options });
  }

  /**
   * `duckdns.org`, not `<sub>.duckdns.org`: a DuckDNS domain is a name inside DuckDNS's zone, not
   * a delegated zone, so it has no NS records of its own. The propagation check asks the zone's
   * nameservers (ns1…ns9.duckdns.org), the servers that answer for every DuckDNS domain.
   */
  async zoneOf(fqdn: string): Promise<string> {
    this.#sub(fqdn);
    return DUCKDNS_ZONE;
  }

  /** Replaces the domain's TXT value with `value`. */
  async present(fqdn: string, value: string): Promise<PresentedRecord> {
    const sub = this.#sub(fqdn);
    // Noted before the request: one that fails half-way may still have set the value.
    this.#published.add(sub);
    await this.#client.update({ sub, txt: value, clear: false }, this.options.signal);
    return { fqdn, value, id: `${sub}.${DUCKDNS_ZONE}`, zoneId: DUCKDNS_ZONE };
  }

  /** Clears the domain's TXT value, unless it was cleared since the last present. */
  async cleanup(record: PresentedRecord): Promise<void> {
    const sub = this.#sub(record.fqdn);
    if (!this.#published.delete(sub)) return;
    try {
      await this.#client.update({ sub, txt: '', clear: true });
      this.#leftovers.delete(record.fqdn);
    } catch (err) {
      this.#leftovers.set(record.fqdn, { name: record.fqdn });
      throw err;
    }
  }

  /**
   * Clears the TXT value of every domain under `fqdns` before the order: whatever an earlier,
   * interrupted run left, and the check that the token may update these domains (`KO` otherwise).
   * Returns 0: DuckDNS cannot say whether there was a value.
   */
  async sweep(fqdns: string[]): Promise<number> {
    for (const sub of new Set(fqdns.map((f) => this.#sub(f)))) {
      if (this.options.signal?.aborted) throw new AbortedError();
      await this.#client.update({ sub, txt: '', clear: true }, this.options.signal);
    }
    return 0;
  }

  /**
   * Values that could not be cleared, and domains whose update failed half-way (no record was
   * handed back, so no cleanup ran for it: the value may be set). The next run's sweep clears both.
   */
  leftovers(): LeftoverRecord[] {
    const unclear = [...this.#published].map((sub) => `_acme-challenge.${sub}.${DUCKDNS_ZONE}`).filter((name) => !this.#leftovers.has(name));
    return [...[...this.#leftovers.values()].map((r) => ({ ...r })), ...unclear.map((name) => ({ name }))];
  }

  #sub(fqdn: string): string {
    const sub = duckDnsSubdomain(fqdn);
    if (!sub) throw notDuckDnsError(fqdn);
    return sub;
  }
}

import { createCloudflareClient, type CloudflareClient as Cloudflare } from './sdk';
import type { Logger } from '../../log';
import type { Secret } from '../../config/secret';
import { AbortedError, DnsProviderError } from '../../errors';
import type { DnsProvider, LeftoverRecord, PresentedRecord } from '../provider';
import { TxtRecordJournal } from '../journal';
import { CALL_RETRY } from '../../util/retry';
import { cloudflareError, emptyResultError, isRefusal, TOKEN_PAGE } from './errors';
import { boundedFetch } from './fetch';

/** The comment nrcert puts on every TXT record it creates, so a sweep removes only its own. */
export const RECORD_TAG = 'nrcert acme-challenge (safe to delete)';

/** Cloudflare's API base URL, which the SDK uses when CLOUDFLARE_BASE_URL is not set. */
const DEFAULT_BASE_URL = 'https://api.cloudflare.com/client/v4';

/** What the Cloudflare provider needs: the token, and optionally a zone id and API base URL. */
export interface CloudflareOptions {
  apiToken: Secret;
  zoneId?: string;
  baseURL?: string;
  logger: Logger;
  /** STATE_DIR: where the records being published are journalled (txt-records.json); no journal without it. */
  stateDir?: string;
  /** CLOUDFLARE_TIMEOUT per request; 30 s unless told. */
  timeoutMs?: number;
  /** The run's signal: ends Retry-After waits and in-flight reads at once; writes run to their answer (see fetch.ts). */
  signal?: AbortSignal;
  /** The longest Retry-After waited for within a run (default 60 s); tests shorten the back-off too. */
  retry?: { maxWaitMs?: number; baseDelayMs?: number };
}

/**
 * DNS-01 through the Cloudflare v4 API with the official SDK. The SDK costs ~0.5 s and ~55 MB
 * to load, so it is required on first use only: commands that never talk to Cloudflare never
 * pay for it.
 */
export class CloudflareDnsProvider implements DnsProvider {
  readonly name = 'cloudflare';
  #client?: Cloudflare;
  readonly #zones = new Map<string, { id: string; name: string }>();
  readonly #journal?: TxtRecordJournal;
  /** Records created here, or found by the sweep, whose delete failed. */
  readonly #leftovers = new Map<string, LeftoverRecord>();

  constructor(private readonly options: CloudflareOptions) {
    if (options.stateDir) this.#journal = new TxtRecordJournal(options.stateDir, this.name);
  }

  /** The SDK client, created on first use. */
  client(): Cloudflare {
    if (!this.#client) {
      const timeoutMs = this.options.timeoutMs ?? 30_000;
      this.#client = createCloudflareClient({
        apiToken: this.options.apiToken.reveal(),
        apiKey: null,
        apiEmail: null,
        userServiceKey: null,
        baseURL: this.options.baseURL,
        // Retries and timeouts are boundedFetch's: the SDK's own wait whatever Retry-After says.
        maxRetries: 0,
        timeout: timeoutMs + 5000,
        fetch: boundedFetch({
          baseURL: this.options.baseURL ?? DEFAULT_BASE_URL,
          timeoutMs,
          maxWaitMs: this.options.retry?.maxWaitMs ?? CALL_RETRY.maxWaitMs,
          baseDelayMs: this.options.retry?.baseDelayMs,
          logger: this.options.logger,
          signal: this.options.signal,
        }),
      });
    }
    return this.#client;
  }

  async zoneOf(fqdn: string): Promise<string> {
    return (await this.findZone(fqdn)).name;
  }

  /**
   * The zone holding `fqdn`: CLOUDFLARE_ZONE_ID when set, else the longest suffix of the name
   * that the token can see as a zone (so `a.b.example.com` finds `example.com`).
   */
  async findZone(fqdn: string): Promise<{ id: string; name: string }> {
    const labels = fqdn.replace(/\.$/, '').split('.');
    const cached = this.#zones.get(fqdn);
    if (cached) return cached;
    const zone = this.options.zoneId ? await this.zoneById(this.options.zoneId) : await this.zoneBySuffix(labels);
    if (!zone) {
      throw new DnsProviderError(
        `cloudflare: no zone for ${fqdn} is visible to CLOUDFLARE_API_TOKEN; check DOMAINS for a typo, ` +
          `and that the token has Zone:Read on the zone (${TOKEN_PAGE})`,
      );
    }
    if (!`.${fqdn}`.endsWith(`.${zone.name}`)) {
      throw new DnsProviderError(`cloudflare: CLOUDFLARE_ZONE_ID is the zone ${zone.name}, which does not hold ${fqdn}; fix CLOUDFLARE_ZONE_ID or DOMAINS`);
    }
    this.#zones.set(fqdn, zone);
    return zone;
  }

  private async zoneById(zoneId: string): Promise<{ id: string; name: string } | null> {
    try {
      const zone = await this.client().zones.get({ zone_id: zoneId });
      return zone ? { id: zone.id, name: zone.name } : null;
    } catch (err) {
      if ((err as { status?: number }).status === 404 || (err as { status?: number }).status === 400) return null;
      throw cloudflareError(`read zone ${zoneId} (CLOUDFLARE_ZONE_ID)`, err);
    }
  }

  private async zoneBySuffix(labels: string[]): Promise<{ id: string; name: string } | null> {
    for (let i = 0; i < labels.length - 1; i++) {
      const name = labels.slice(i).join('.');
      try {
        const page = await this.client().zones.list({ name, per_page: 5 });
        const zone = page.result.find((z) => z.name === name);
        if (zone) return { id: zone.id, name: zone.name };
      } catch (err) {
        throw cloudflareError(`look up the zone ${name}`, err);
      }
    }
    return null;
  }

  /**
   * Creates the record, journalled first (without an id) and given its id after the answer, so
   * a crash in any window leaves an entry the next sweep can act on.
   */
  async present(fqdn: string, value: string): Promise<PresentedRecord> {
    const zone = await this.findZone(fqdn);
    const action = `create TXT record for ${fqdn}`;
    await this.#journal?.add(fqdn, value, zone.id);
    try {
      const record = await this.client().dns.records.create({
        zone_id: zone.id,
        type: 'TXT',
        name: fqdn,
        content: `"${value}"`,
        ttl: 60,
        comment: RECORD_TAG,
      });
      if (!record?.id) throw emptyResultError(action);
      this.options.logger.debug({ fqdn, recordId: record.id }, 'TXT record created');
      await this.#journalId(fqdn, value, record.id);
      return { fqdn, value, id: record.id, zoneId: zone.id };
    } catch (err) {
      // A create answered with an error (or retried into "identical record exists") may still
      // have happened: if our record is there, use it, so it is also the one cleaned up.
      const made = await this.findRecord(fqdn, value).catch(() => null);
      if (made) {
        this.options.logger.warn({ fqdn, recordId: made.id }, 'the TXT record was created although Cloudflare answered an error; using it');
        await this.#journalId(fqdn, value, made.id);
        return made;
      }
      // Known not to exist: forget it. Otherwise (no answer) the journal keeps it for the next sweep.
      if (made === undefined || isRefusal(err)) await this.#journal?.remove({ fqdn, value }).catch(() => undefined);
      throw err instanceof DnsProviderError ? err : cloudflareError(action, err);
    }
  }

  async #journalId(fqdn: string, value: string, id: string): Promise<void> {
    try {
      await this.#journal?.setId(fqdn, value, id);
    } catch (err) {
      // The entry without id still leads the next sweep to the record, by name and value.
      this.options.logger.warn({ fqdn, recordId: id, error: (err as Error).message }, 'could not note the TXT record id in STATE_DIR');
    }
  }

  /**
   * The TXT record at `fqdn` with `value`, if there is one. Found by value, not by tag: the value
   * is the challenge's key authorization digest (or a random canary), so only we publish it.
   */
  async findRecord(fqdn: string, value: string): Promise<PresentedRecord | undefined> {
    const zone = await this.findZone(fqdn);
    const record = (await this.txtRecords(zone.id, fqdn)).find((r) => r.content?.replace(/^"|"$/g, '') === value);
    return record && { fqdn, value, id: record.id, zoneId: zone.id };
  }

  /** The TXT records at `fqdn`, with their comment. */
  private async txtRecords(zoneId: string, fqdn: string): Promise<Array<{ id: string; content?: string; comment?: string | null }>> {
    const found = [];
    try {
      for await (const r of this.client().dns.records.list({ zone_id: zoneId, type: 'TXT', name: { exact: fqdn }, per_page: 100 })) {
        found.push({ id: r.id, content: r.content, comment: r.comment });
      }
    } catch (err) {
      throw cloudflareError(`list TXT records at ${fqdn}`, err);
    }
    return found;
  }

  /** Deletes the record by id (gone already is fine), then drops its journal entry; a failure makes it a leftover. */
  async cleanup(record: PresentedRecord): Promise<void> {
    try {
      await this.client().dns.records.delete(record.id, { zone_id: record.zoneId });
      this.options.logger.debug({ fqdn: record.fqdn, recordId: record.id }, 'TXT record deleted');
    } catch (err) {
      if ((err as { status?: number }).status !== 404) {
        this.#leftovers.set(record.id, { name: record.fqdn, id: record.id });
        throw cloudflareError(`delete TXT record ${record.id} at ${record.fqdn}`, err);
      }
    }
    this.#leftovers.delete(record.id);
    await this.#journal?.remove(record).catch((err: Error) =>
      this.options.logger.warn({ recordId: record.id, error: err.message }, 'could not drop the deleted TXT record from STATE_DIR; the next sweep does'));
  }

  leftovers(): LeftoverRecord[] {
    return [...this.#leftovers.values()].map((r) => ({ ...r }));
  }

  /**
   * Removes what an earlier run left behind: every record in the journal (by id, or by name and
   * value when the crash came before the id was noted), then every record at `fqdns` that
   * carries RECORD_TAG. A journalled record that cannot be removed now (its zone is no longer
   * in DOMAINS or the token's reach, Cloudflare is failing) is logged, kept in the journal and
   * listed in leftovers(); it does not stop the renewal.
   */
  async sweep(fqdns: string[]): Promise<number> {
    const deleted = new Set<string>();
    for (const entry of (await this.#journal?.entries()) ?? []) {
      try {
        const ids = entry.id ? [entry.id] : await this.journalledIds(entry);
        for (const id of ids) {
          await this.cleanup({ fqdn: entry.fqdn, value: entry.value, id, zoneId: entry.zoneId });
          deleted.add(id);
        }
        await this.#journal!.remove(entry);
      } catch (err) {
        if (err instanceof AbortedError) throw err;
        if (!entry.id) this.#leftovers.set(`${entry.fqdn} ${entry.value}`, { name: entry.fqdn });
        this.options.logger.warn({ fqdn: entry.fqdn, recordId: entry.id, error: (err as Error).message }, 'could not remove a TXT record an earlier run left behind; trying again next run');
      }
    }
    for (const fqdn of new Set(fqdns)) {
      const zone = await this.findZone(fqdn);
      for (const { id } of (await this.txtRecords(zone.id, fqdn)).filter((r) => r.comment === RECORD_TAG && !deleted.has(r.id))) {
        await this.cleanup({ fqdn, value: '', id, zoneId: zone.id });
        deleted.add(id);
      }
    }
    if (deleted.size > 0) this.options.logger.warn({ removed: deleted.size }, 'removed TXT records left behind by an earlier interrupted run');
    return deleted.size;
  }

  /** The ids of the records a journal entry without id may have created: same name, same value. */
  private async journalledIds(entry: { fqdn: string; value: string; zoneId: string }): Promise<string[]> {
    const records = await this.txtRecords(entry.zoneId, entry.fqdn);
    return records.filter((r) => r.content?.replace(/^"|"$/g, '') === entry.value).map((r) => r.id);
  }
}

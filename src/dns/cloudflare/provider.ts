import type Cloudflare from 'cloudflare';
import type { Logger } from '../../log';
import type { Secret } from '../../config/secret';
import { DnsProviderError } from '../../errors';
import type { DnsProvider, PresentedRecord } from '../provider';
import { cloudflareError, emptyResultError, TOKEN_PAGE } from './errors';

/** The comment nrcert puts on every TXT record it creates, so a sweep removes only its own. */
export const RECORD_TAG = 'nrcert acme-challenge (safe to delete)';

/** What the Cloudflare provider needs: the token, and optionally a zone id and API base URL. */
export interface CloudflareOptions {
  apiToken: Secret;
  zoneId?: string;
  baseURL?: string;
  logger: Logger;
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

  constructor(private readonly options: CloudflareOptions) {}

  /** The SDK client, created on first use. */
  client(): Cloudflare {
    if (!this.#client) {
      const { default: Sdk } = require('cloudflare') as typeof import('cloudflare');
      this.#client = new Sdk({
        apiToken: this.options.apiToken.reveal(),
        apiKey: null,
        apiEmail: null,
        userServiceKey: null,
        baseURL: this.options.baseURL,
        maxRetries: 2,
        timeout: 30_000,
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

  async present(fqdn: string, value: string): Promise<PresentedRecord> {
    const zone = await this.findZone(fqdn);
    const action = `create TXT record for ${fqdn}`;
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
      return { fqdn, value, id: record.id, zoneId: zone.id };
    } catch (err) {
      // A create answered with an error (or retried into "identical record exists") may still
      // have happened: if our record is there, use it, so it is also the one cleaned up.
      const made = await this.findRecord(fqdn, value).catch(() => undefined);
      if (made) {
        this.options.logger.warn({ fqdn, recordId: made.id }, 'the TXT record was created although Cloudflare answered an error; using it');
        return made;
      }
      throw err instanceof DnsProviderError ? err : cloudflareError(action, err);
    }
  }

  /** The TXT record this tool created at `fqdn` with `value`, if there is one. */
  async findRecord(fqdn: string, value: string): Promise<PresentedRecord | undefined> {
    const zone = await this.findZone(fqdn);
    const record = (await this.ownRecords(zone.id, fqdn)).find((r) => r.content?.replace(/^"|"$/g, '') === value);
    return record && { fqdn, value, id: record.id, zoneId: zone.id };
  }

  /** The TXT records at `fqdn` carrying RECORD_TAG. */
  private async ownRecords(zoneId: string, fqdn: string): Promise<Array<{ id: string; content?: string }>> {
    const found = [];
    try {
      for await (const r of this.client().dns.records.list({ zone_id: zoneId, type: 'TXT', name: { exact: fqdn }, per_page: 100 })) {
        if (r.comment === RECORD_TAG) found.push({ id: r.id, content: r.content });
      }
    } catch (err) {
      throw cloudflareError(`list TXT records at ${fqdn}`, err);
    }
    return found;
  }

  async cleanup(record: PresentedRecord): Promise<void> {
    try {
      await this.client().dns.records.delete(record.id, { zone_id: record.zoneId });
      this.options.logger.debug({ fqdn: record.fqdn, recordId: record.id }, 'TXT record deleted');
    } catch (err) {
      if ((err as { status?: number }).status === 404) return;
      throw cloudflareError(`delete TXT record ${record.id} at ${record.fqdn}`, err);
    }
  }

  async sweep(fqdns: string[]): Promise<number> {
    let removed = 0;
    for (const fqdn of new Set(fqdns)) {
      const zone = await this.findZone(fqdn);
      for (const { id } of await this.ownRecords(zone.id, fqdn)) {
        await this.cleanup({ fqdn, value: '', id, zoneId: zone.id });
        removed++;
      }
    }
    if (removed > 0) this.options.logger.warn({ removed }, 'removed TXT records left behind by an earlier interrupted run');
    return removed;
  }
}

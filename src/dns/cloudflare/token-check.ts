/**
 * Checks, before anything is written or ordered, that a Cloudflare token can do what DNS-01
 * needs: it is a scoped API token (not the Global API Key), it is active, it sees the zone of
 * `_acme-challenge.<domain>` (Zone:Read), and it can create and delete a TXT record there
 * (DNS:Edit, proven with a canary record that is always removed). It also reads the CAA records
 * that govern the domain (RFC 8659 §3: the closest name up the tree that has any) and warns when
 * they do not let Let's Encrypt issue. Every result is an item with a fix; no message carries
 * the token. Used by `nrcert init` and `nrcert doctor`.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../log';
import type { Secret } from '../../config/secret';
import { AbortedError, DnsProviderError } from '../../errors';
import type { PresentedRecord } from '../provider';
import { CloudflareDnsProvider } from './provider';
import { ownFailure, TOKEN_PAGE } from './errors';
import { nrcertCommand } from '../../util/hint';
import { challengeRecordName } from '../../config/domains';

/** What the check is asked to look at. `signal` stops it between steps (the canary is still removed). */
export interface TokenCheckOptions {
  apiToken: Secret;
  zoneId?: string;
  baseURL?: string;
  /** CLOUDFLARE_TIMEOUT per request; 30 s unless told. */
  timeoutMs?: number;
  /** The certificate's base name, e.g. example.com (a leading `*.` is ignored). */
  domain: string;
  /** Where the TXT records go: a CNAME delegation's target (dns/delegation.ts); `_acme-challenge.<domain>` unless told. */
  recordName?: string;
  logger: Logger;
  signal?: AbortSignal;
}

/** One line of the check: what was looked at, whether it passed, and what to do when not. */
export interface TokenCheckItem {
  id: 'token-kind' | 'token-active' | 'zone-visible' | 'dns-edit' | 'caa';
  ok: boolean;
  /** Passed, but worth acting on (a CAA record that forbids Let's Encrypt, an unreadable CAA set). */
  warning?: boolean;
  message: string;
  fix?: string;
}

/** The whole check: ok when no item failed (warnings do not fail it). */
export interface TokenCheck {
  ok: boolean;
  zone?: { id: string; name: string };
  items: TokenCheckItem[];
}

/** The token template that has exactly the permissions nrcert needs. */
const TEMPLATE = 'the "Edit zone DNS" template';
/** Cloudflare's Global API Key is 37 hex characters; scoped API tokens are 40 base64url characters. */
const GLOBAL_KEY = /^[0-9a-f]{37}$/i;
const LETS_ENCRYPT = 'letsencrypt.org';

/** Runs the steps in order, stopping at the first failure that makes the next ones meaningless. */
export async function checkCloudflareToken(opts: TokenCheckOptions): Promise<TokenCheck> {
  const domain = opts.domain.replace(/^\*\./, '').replace(/\.$/, '').toLowerCase();
  const items: TokenCheckItem[] = [];
  const done = (zone?: TokenCheck['zone']): TokenCheck => ({ ok: items.every((i) => i.ok), zone, items });
  if (GLOBAL_KEY.test(opts.apiToken.reveal())) {
    items.push({
      id: 'token-kind', ok: false,
      message: 'this looks like the Global API Key (37 hex characters): nrcert needs a scoped API token, which can touch only your DNS',
      fix: `create an API token at ${TOKEN_PAGE} with ${TEMPLATE} for your zone, and use it instead`,
    });
    return done();
  }
  items.push({ id: 'token-kind', ok: true, message: 'a scoped API token (not the Global API Key)' });
  const provider = new CloudflareDnsProvider({ apiToken: opts.apiToken, zoneId: opts.zoneId, baseURL: opts.baseURL, timeoutMs: opts.timeoutMs, logger: opts.logger });
  const abortCheck = () => {
    if (opts.signal?.aborted) throw new AbortedError();
  };
  abortCheck();
  items.push(await verifyToken(provider));
  if (!items[items.length - 1].ok) return done();
  abortCheck();
  const fqdn = opts.recordName ?? challengeRecordName(domain);
  const zone = await findZone(provider, fqdn, opts.recordName ? fqdn : domain, Boolean(opts.zoneId), items);
  if (!zone) return done();
  abortCheck();
  items.push(await canary(provider, fqdn, zone.name, opts));
  abortCheck();
  items.push(await checkCaa(provider, zone, domain));
  return done(zone);
}

async function verifyToken(provider: CloudflareDnsProvider): Promise<TokenCheckItem> {
  const fix = `create a new API token at ${TOKEN_PAGE} with ${TEMPLATE}`;
  try {
    const result = await provider.client().user.tokens.verify();
    if (!result) return { id: 'token-active', ok: false, message: 'Cloudflare answered the token check without a result', fix: 'try again in a minute' };
    if (result.status === 'active') return { id: 'token-active', ok: true, message: 'the token is active' };
    return { id: 'token-active', ok: false, message: `the token is ${result.status}`, fix: `${result.status === 'expired' ? 'extend it' : 'enable it'} at ${TOKEN_PAGE}, or ${fix}` };
  } catch (err) {
    const own = ownFailure(err);
    if (own instanceof AbortedError) throw own;
    const status = (err as { status?: number }).status;
    if (status === 401 || status === 403) {
      return { id: 'token-active', ok: false, message: `Cloudflare does not accept this token (HTTP ${status}): it is mistyped, deleted or rolled`, fix: `copy it again, or ${fix}` };
    }
    const message = own ? `cannot check the token: ${own.message}` : status === undefined
      ? 'cannot reach the Cloudflare API to check the token'
      : `Cloudflare failed to check the token (HTTP ${status})`;
    return { id: 'token-active', ok: false, message, fix: 'check the network connection and try again' };
  }
}

async function findZone(provider: CloudflareDnsProvider, fqdn: string, domain: string, byId: boolean, items: TokenCheckItem[]) {
  try {
    const zone = await provider.findZone(fqdn);
    items.push({ id: 'zone-visible', ok: true, message: `the token can see the zone ${zone.name} (Zone:Read)` });
    return zone;
  } catch (err) {
    if (!(err instanceof DnsProviderError)) throw err;
    const item: TokenCheckItem = err.transient || byId
      ? { id: 'zone-visible', ok: false, message: err.message, fix: 'check the network connection and CLOUDFLARE_ZONE_ID, then try again' }
      : {
          id: 'zone-visible', ok: false,
          message: `the token cannot see a Cloudflare zone holding ${domain}: it lacks Zone:Read on it, or ${domain} is not in this Cloudflare account`,
          fix: `check ${domain} for a typo; at ${TOKEN_PAGE}, edit the token and give it Zone → Zone → Read on the zone (${TEMPLATE} includes it)`,
        };
    items.push(item);
    return undefined;
  }
}

/** Creates a tagged canary TXT record and always deletes it again. */
async function canary(provider: CloudflareDnsProvider, fqdn: string, zoneName: string, opts: TokenCheckOptions): Promise<TokenCheckItem> {
  const value = `nrcert-canary-${randomBytes(8).toString('hex')}`;
  const lacksEdit: TokenCheckItem = {
    id: 'dns-edit', ok: false,
    message: `the token lacks DNS:Edit on ${zoneName}`,
    fix: `at ${TOKEN_PAGE}, edit the token and add the permission Zone → DNS → Edit for ${zoneName} (or create a new token with ${TEMPLATE})`,
  };
  let record: PresentedRecord | undefined;
  let item: TokenCheckItem = { id: 'dns-edit', ok: false, message: `creating a test TXT record at ${fqdn} failed`, fix: 'try again in a minute' };
  try {
    opts.logger.info({ fqdn }, 'creating a test TXT record to check DNS:Edit');
    record = await provider.present(fqdn, value);
    item = { id: 'dns-edit', ok: true, message: `the token can create and delete TXT records in ${zoneName} (DNS:Edit)` };
  } catch (err) {
    if (!(err instanceof DnsProviderError)) throw err;
    const status = (err.cause as { status?: number } | undefined)?.status;
    item = status === 403 || status === 401 ? lacksEdit : { ...item, message: err.message };
    // A create that timed out may still have happened: find the record by its value to remove it.
    if (err.transient) record = await provider.findRecord(fqdn, value).catch(() => undefined);
  } finally {
    if (record) item = await removeCanary(provider, record, item, lacksEdit);
  }
  return item;
}

async function removeCanary(provider: CloudflareDnsProvider, record: PresentedRecord, item: TokenCheckItem, lacksEdit: TokenCheckItem): Promise<TokenCheckItem> {
  try {
    await provider.cleanup(record);
    return item;
  } catch (err) {
    const status = ((err as Error).cause as { status?: number } | undefined)?.status;
    const left = `the test TXT record at ${record.fqdn} (value ${record.value}) could not be deleted`;
    return status === 403
      ? { ...lacksEdit, message: `${lacksEdit.message}: ${left}; delete it in the Cloudflare dashboard` }
      : { id: 'dns-edit', ok: false, message: left, fix: `delete it in the Cloudflare dashboard (DNS → Records), or let the next ${nrcertCommand('renew')} remove it` };
  }
}

interface Caa {
  name: string;
  tag: string;
  value: string;
  text: string;
}

/** The CAA RRset that governs `domain` (RFC 8659 §3), read through the API up to the zone apex. */
async function checkCaa(provider: CloudflareDnsProvider, zone: { id: string; name: string }, domain: string): Promise<TokenCheckItem> {
  if (!`.${domain}`.endsWith(`.${zone.name}`)) {
    // A CNAME delegation: the token sees only the target zone, not the one holding the CAA records.
    return { id: 'caa', ok: true, message: `the CAA records of ${domain} are outside ${zone.name}, the only zone the check reaches: make sure none forbids ${LETS_ENCRYPT}` };
  }
  const labels = domain.split('.');
  const zoneLabels = zone.name.split('.').length;
  try {
    for (let i = 0; labels.length - i >= zoneLabels; i++) {
      const name = labels.slice(i).join('.');
      const set: Caa[] = [];
      for await (const r of provider.client().dns.records.list({ zone_id: zone.id, type: 'CAA', name: { exact: name }, per_page: 100 })) {
        const caa = parseCaa(name, r as { content?: string; data?: { tag?: string; value?: string; flags?: number } });
        if (caa) set.push(caa);
      }
      if (set.length > 0) return judgeCaa(set, domain);
    }
  } catch (err) {
    const status = (err as { status?: number }).status;
    return {
      id: 'caa', ok: true, warning: true,
      message: `could not read the CAA records of ${domain} (${status ? `HTTP ${status}` : 'network error'})`,
      fix: `check in the Cloudflare dashboard that no CAA record forbids ${LETS_ENCRYPT}`,
    };
  }
  return { id: 'caa', ok: true, message: `no CAA record restricts which CA may issue for ${domain}` };
}

function parseCaa(name: string, r: { content?: string; data?: { tag?: string; value?: string; flags?: number } }): Caa | undefined {
  if (r.data?.tag) {
    const text = r.content ?? `${r.data.flags ?? 0} ${r.data.tag} "${r.data.value ?? ''}"`;
    return { name, tag: r.data.tag.toLowerCase(), value: r.data.value ?? '', text };
  }
  const m = /^\s*(\d+)\s+(\S+)\s+"?(.*?)"?\s*$/.exec(r.content ?? '');
  return m ? { name, tag: m[2].toLowerCase(), value: m[3], text: r.content!.trim() } : undefined;
}

/** Let's Encrypt may issue when an issue (apex) and issuewild-or-issue (wildcard) record names it. */
function judgeCaa(set: Caa[], domain: string): TokenCheckItem {
  const allows = (c: Caa) => c.value.split(';')[0].trim().toLowerCase() === LETS_ENCRYPT;
  const issue = set.filter((c) => c.tag === 'issue');
  const wild = set.filter((c) => c.tag === 'issuewild');
  const apexOk = issue.length === 0 || issue.some(allows);
  const wildOk = wild.length > 0 ? wild.some(allows) : apexOk;
  if (apexOk && wildOk) return { id: 'caa', ok: true, message: `the CAA records at ${set[0].name} allow ${LETS_ENCRYPT}` };
  const blocking = [...(apexOk ? [] : issue), ...(wildOk || wild.length === 0 ? [] : wild)];
  const named = blocking.map((c) => `${c.name} CAA ${c.text}`).join(', ');
  const adds = [!apexOk && `0 issue "${LETS_ENCRYPT}"`, !wildOk && `0 issuewild "${LETS_ENCRYPT}"`].filter(Boolean).join(' and ');
  return {
    id: 'caa', ok: true, warning: true,
    message: `the CAA record${blocking.length > 1 ? 's' : ''} ${named} do${blocking.length > 1 ? '' : 'es'} not allow ${LETS_ENCRYPT}: ` +
      `Let's Encrypt will refuse to issue for ${!apexOk ? domain : `*.${domain}`}`,
    fix: `in the Cloudflare dashboard (DNS → Records), add a CAA record at ${set[0].name}: ${adds}`,
  };
}

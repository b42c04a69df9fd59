import { baseDomains, challengeRecordName } from '../../config/domains';
import type { Config } from '../../config/config';
import type { Logger } from '../../log';
import type {
  TokenCheck as TokenCheckResult, TokenCheckItem, TokenCheckOptions,
} from '../../dns/cloudflare/token-check';
import { describeError } from '../../errors';
import { cloudflareSettings } from '../../dns/cloudflare/config';
import type { Delegation } from '../../dns/delegation';
import { fail, skip, type CheckResult } from '../types';

/** The token check's signature (src/dns/cloudflare/token-check.ts); a type only, so nothing is loaded. */
export type TokenCheck = (opts: TokenCheckOptions) => Promise<TokenCheckResult>;

/** The token check's findings, in the order it makes them; the ones after a failure are not made. */
const FINDINGS: TokenCheckItem['id'][] = ['token-kind', 'token-active', 'zone-visible', 'dns-edit', 'caa'];

/** The real token check, required only when this check runs: only it loads the Cloudflare SDK. */
function loadTokenCheck(): TokenCheck {
  return (require('../../dns/cloudflare/token-check') as { checkCloudflareToken: TokenCheck }).checkCloudflareToken;
}

/**
 * Check 2: the Cloudflare token is a scoped token, active, sees the zone, may create and delete
 * a TXT record (a canary, removed again), and no CAA record forbids Let's Encrypt. One line per
 * finding (`cloudflare.<finding>`, skipped ones included), or one `cloudflare` line when the check crashed.
 */
export async function checkCloudflare(config: Config | undefined, logger: Logger, tokenCheck?: TokenCheck, delegations?: Promise<Delegation[]>): Promise<CheckResult[]> {
  const skipAll = (why: string) => FINDINGS.map((id) => skip(`cloudflare.${id}`, why));
  if (!config) return skipAll('needs a valid configuration (see above)');
  const settings = cloudflareSettings(config);
  if (!settings) return skipAll(`DNS_PROVIDER is ${config.dns.provider}`);
  const apiToken = settings.apiToken;
  if (!apiToken) return skipAll('CLOUDFLARE_API_TOKEN is not set');
  const bases = baseDomains(config.domains);
  let run: TokenCheck;
  try {
    run = tokenCheck ?? loadTokenCheck();
  } catch (err) {
    return [fail('cloudflare', `the token check could not be loaded (${describeError(err).split('\n')[0]})`, 'rebuild nrcert: npm ci (or npm run build)')];
  }
  try {
    // Every name the renewal needs a record for, as init checks them (one line per finding and name).
    const items = [];
    // A CNAME'd challenge name is tested where its records go (a delegation that cannot be used is the delegation check's line).
    const targets = await (delegations ?? Promise.resolve([])).catch(() => []);
    for (const domain of bases) {
      const d = targets.find((t) => t.name === challengeRecordName(domain));
      const recordName = d?.kind === 'delegated' ? d.publishAt : undefined;
      const found = (await run({ apiToken, zoneId: settings.zoneId, baseURL: settings.baseURL, domain, recordName, logger })).items;
      items.push(...found.map((item) => (bases.length > 1 ? { ...item, message: `${domain}: ${item.message}` } : item)));
    }
    const results: CheckResult[] = items.map((item) => ({
      id: `cloudflare.${item.id}`,
      status: item.warning ? 'warn' : item.ok ? 'ok' : 'fail',
      message: item.message,
      ...(item.fix && !(item.ok && !item.warning) ? { fix: item.fix } : {}),
    }));
    const made = new Set(items.map((i) => i.id));
    const notMade = FINDINGS.filter((id) => !made.has(id)).map((id) => skip(`cloudflare.${id}`, 'not checked: an earlier token check failed'));
    return [...results, ...notMade];
  } catch (err) {
    return [fail('cloudflare', `checking the token failed: ${describeError(err).split('\n').join('; ')}`,
      'check the network, and the token at https://dash.cloudflare.com/profile/api-tokens')];
  }
}

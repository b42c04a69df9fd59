/**
 * The token check of `nrcert init`, run right after the token is given: for every base domain,
 * is it active, does it see the zone, can it create and delete a TXT record (a canary, always
 * removed, also on Ctrl-C), do CAA records allow Let's Encrypt. Each item is printed.
 */
import { baseDomains, challengeRecordName } from '../config/domains';
import type { Secret } from '../config/secret';
import type { TokenCheck, TokenCheckOptions } from '../dns/cloudflare/token-check';
import type { Logger } from '../log';
import { dnsCnameLookup } from '../dns/cname-lookup';
import type { CnameLookup } from '../dns/delegation';
import type { Prompter } from './prompt';
import { delegationOffer, delegationStep } from './delegation-step';

/** What the check needs from init. */
export interface TokenStepDeps {
  say: (line: string) => void;
  busy: (what: string | undefined) => void;
  checkToken: (opts: TokenCheckOptions) => Promise<TokenCheck>;
  logger: Logger;
  signal: AbortSignal;
  flags: { interactive: boolean; delegateTo?: string };
  prompter: Prompter;
  /** How CNAMEs are looked up (the real DNS at DNS_RESOLVERS or the authoritative servers unless told). */
  cnameLookup?: CnameLookup;
}

/** Checks the token for every base domain; prints each item; false when one failed. */
export async function tokenWorks(domains: string[], token: Secret, values: Record<string, string>, deps: TokenStepDeps): Promise<boolean> {
  const bases = baseDomains(domains);
  const resolvers = values.DNS_RESOLVERS?.split(',').map((r) => r.trim()).filter(Boolean);
  const lookup = deps.cnameLookup ?? dnsCnameLookup({ resolvers: resolvers?.length ? resolvers : undefined });
  let ok = true;
  for (const domain of bases) {
    const delegated = await delegationStep(domain, bases.length > 1, { ...deps, lookup });
    if (!delegated) {
      ok = false;
      continue;
    }
    const recordName = delegated.recordName ?? challengeRecordName(domain);
    deps.say(`Checking the Cloudflare token for ${domain}: is it active, does it see the zone, can it create and delete a TXT record at ${recordName}, do CAA records allow Let's Encrypt…`);
    deps.busy('removing the test TXT record');
    let check: TokenCheck;
    try {
      check = await deps.checkToken({
        apiToken: token, domain, recordName: delegated.recordName, logger: deps.logger, signal: deps.signal,
        zoneId: values.CLOUDFLARE_ZONE_ID || undefined, baseURL: values.CLOUDFLARE_BASE_URL || undefined,
      });
    } finally {
      deps.busy(undefined);
    }
    for (const item of check.items) {
      deps.say(`  ${item.ok ? (item.warning ? '[warning]' : '[ok]') : '[FAILED]'} ${item.message}`);
      if (item.fix && (!item.ok || item.warning)) deps.say(`      fix: ${item.fix}`);
      if (item.id === 'zone-visible' && !item.ok && !delegated.recordName) for (const line of delegationOffer(domain)) deps.say(line);
    }
    ok &&= check.ok;
  }
  return ok;
}


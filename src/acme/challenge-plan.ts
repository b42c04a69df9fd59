/**
 * Where each challenge name's TXT value goes, decided before any order (an order costs Let's
 * Encrypt budget): at the name itself, or at the end of its CNAME chain (dns/delegation.ts).
 * The provider must see the zone of every such name: with a delegation that is the target's
 * zone only, which is the point of it (a token for the throwaway zone alone).
 */
import type { Logger } from '../log';
import type { DnsProvider } from '../dns/provider';
import { followDelegation, type CnameLookup, type Delegation, type PublishAt } from '../dns/delegation';
import { DelegationError, DnsProviderError } from '../errors';
import { abortable } from '../util/sleep';

/** What the plan needs. */
export interface ChallengePlanDeps {
  dns: DnsProvider;
  lookup: CnameLookup;
  logger: Logger;
  /** A stop (SIGTERM, Ctrl-C): ends the plan at once with AbortedError, even mid-lookup. */
  signal?: AbortSignal;
}

/**
 * Follows every challenge name's CNAME chain and asks the provider for the zone of each name a
 * value will be published at. Throws DelegationError for a chain that cannot be used, and the
 * provider's error, with the delegation explained, for a target zone it cannot see.
 */
export async function planChallengeNames(names: string[], deps: ChallengePlanDeps): Promise<PublishAt> {
  const plan: PublishAt = {};
  for (const name of names) {
    // Each query is bounded (2 s, ≤ 8 hops), but a chain over slow servers still adds up: a stop
    // must not wait for it. Nothing has been published yet, so there is nothing to clean up.
    const delegation = await abortable(followDelegation(name, deps.lookup), deps.signal);
    const target = usable(delegation, deps.logger);
    if (delegation.kind === 'delegated') deps.logger.info({ name, target, chain: delegation.chain }, delegation.reason);
    await abortable(zoneOf(deps.dns, delegation, target), deps.signal);
    plan[delegation.name] = target;
  }
  return plan;
}

/**
 * The name to publish at, or the DelegationError saying why there is none. A chain that could
 * not be followed (no server answered) is published at the challenge name itself, as before
 * delegation was known, with a warning: the propagation check asks the same servers and names
 * the ones that do not answer, and a DNS hiccup must not become a new reason to fail.
 */
function usable(d: Delegation, logger: Logger): string {
  if (d.kind === 'none' || d.kind === 'delegated') return d.publishAt;
  if (d.kind === 'failed') {
    logger.warn({ name: d.name, at: d.at, error: d.error }, `${d.reason}; publishing at ${d.name} itself`);
    return d.name;
  }
  throw new DelegationError(`${d.reason}; fix the CNAME record of ${d.name} at your DNS host`);
}

async function zoneOf(dns: DnsProvider, d: Delegation, target: string): Promise<void> {
  try {
    await dns.zoneOf(target);
  } catch (err) {
    if (d.kind !== 'delegated' || !(err instanceof DnsProviderError) || err.transient) throw err;
    const zone = d.zone ? `the zone ${d.zone}` : `the zone holding ${target}`;
    throw new DnsProviderError(
      `${d.name} is a CNAME to ${target} (${d.chain.join(' → ')}), so the TXT record goes in ${zone}, but ${dns.name} cannot publish there: ${err.message}. ` +
        `Give the token DNS:Edit and Zone:Read on ${zone}, or point the CNAME at a name in a zone the token can see`,
      { cause: err },
    );
  }
}

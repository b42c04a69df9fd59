/**
 * The CNAME delegation of each challenge name (dns/delegation.ts), as the renewal will follow it:
 * shown as `_acme-challenge.example.com → _acme-challenge.example-acme.net (zone example-acme.net)`,
 * and checked: the chain ends (no loop, not too long, every hop answered) in a zone the DNS
 * provider can publish in.
 */
import { baseDomains, challengeRecordName } from '../../config/domains';
import type { Config } from '../../config/config';
import { dnsCnameLookup } from '../../dns/cname-lookup';
import { followDelegation, type CnameLookup, type Delegation } from '../../dns/delegation';
import { describeError } from '../../errors';
import { fail, ok, skip, type CheckResult } from '../types';

const ID = 'delegation';

/** Seams: how CNAMEs are looked up, and how the provider names the zone of a name (absent: not asked). */
export interface DelegationCheckDeps {
  lookup?: CnameLookup;
  zoneOf?: (fqdn: string) => Promise<string>;
}

/** The delegation of every base domain's challenge name, followed as the renewal follows it. */
export function delegationsFor(config: Config, lookup?: CnameLookup): Promise<Delegation[]> {
  const ask = lookup ?? dnsCnameLookup({ resolvers: config.dns.resolvers });
  return Promise.all(baseDomains(config.domains).map((b) => followDelegation(challengeRecordName(b), ask)));
}

/** Check: one line for all the challenge names; fails on the first that cannot be used. */
export async function checkDelegation(config: Config | undefined, delegations: Promise<Delegation[]> | undefined, deps: DelegationCheckDeps = {}): Promise<CheckResult> {
  if (!config || !delegations) return skip(ID, 'needs a valid configuration (see above)');
  const lines: string[] = [];
  for (const d of await delegations) {
    if (d.kind === 'loop' || d.kind === 'too-deep') return fail(ID, d.reason, `fix the CNAME record of ${d.name} at your DNS host`);
    if (d.kind === 'failed') return fail(ID, d.reason, "check this machine's DNS and network, or DNS_RESOLVERS");
    if (d.kind === 'none') {
      lines.push(`${d.name} is not a CNAME (the TXT records go there)`);
      continue;
    }
    let zone = d.zone;
    try {
      if (deps.zoneOf) zone = await deps.zoneOf(d.publishAt);
    } catch (err) {
      return fail(ID, `${d.chain.join(' → ')}: the DNS provider cannot publish there: ${describeError(err).split('\n')[0]}`,
        `give the token Zone:Read and DNS:Edit on the zone of ${d.publishAt}, or point the CNAME of ${d.name} at a name in a zone the token can see`);
    }
    lines.push(`${d.chain.join(' → ')}${zone ? ` (zone ${zone})` : ''}`);
  }
  return ok(ID, lines.join('; '));
}

/**
 * CNAME delegation in `nrcert init` (dns/delegation.ts): before the token is checked for a domain,
 * `_acme-challenge.<domain>` is looked up. A CNAME found there is explained and accepted: the
 * records go at its target, so the token is checked in the target's zone (a token for that zone
 * alone is enough). With --delegate-to ZONE the exact CNAME to create is printed and awaited.
 */
import { challengeRecordName } from '../config/domains';
import { AbortedError } from '../errors';
import { followDelegation, normalName, type CnameLookup, type Delegation } from '../dns/delegation';
import type { Prompter } from './prompt';
import { nrcertCommand } from '../util/hint';

/** What the step needs from init. */
export interface DelegationStepDeps {
  say: (line: string) => void;
  lookup: CnameLookup;
  flags: { interactive: boolean; delegateTo?: string };
  prompter: Prompter;
  signal: AbortSignal;
}

/** Where the records of `domain` go (`recordName`, undefined: the challenge name itself), or false when they cannot. */
export type DelegationOutcome = { recordName?: string } | false;

/**
 * The name the CNAME of `domain` should point at in `zone`: `_acme-challenge.<zone>` for the one
 * domain of a certificate, `_acme-challenge.<domain with dashes>.<zone>` when there are several.
 */
export function delegationTarget(domain: string, zone: string, several: boolean): string {
  const z = normalName(zone);
  return several ? `_acme-challenge.${domain.replace(/\./g, '-')}.${z}` : `_acme-challenge.${z}`;
}

/** The record line to create at the DNS host, exactly. */
export function cnameRecord(domain: string, target: string): string {
  return `${challengeRecordName(domain)}.  CNAME  ${target}.`;
}

/** Looks at (and with --delegate-to, waits for) the CNAME of `domain`; prints what it finds. */
export async function delegationStep(domain: string, several: boolean, deps: DelegationStepDeps): Promise<DelegationOutcome> {
  const name = challengeRecordName(domain);
  const wanted = deps.flags.delegateTo ? delegationTarget(domain, deps.flags.delegateTo, several) : undefined;
  if (wanted) {
    deps.say(`CNAME delegation: create this record at the DNS host of ${domain} (at Cloudflare: DNS → Records → Add record, type CNAME, proxy off):`);
    deps.say(`  ${cnameRecord(domain, wanted)}`);
    deps.say(`  The token then needs Zone:Read and DNS:Edit on ${normalName(deps.flags.delegateTo!)} only; it need not see ${domain} at all.`);
  }
  for (;;) {
    const d = await followDelegation(name, deps.lookup);
    const outcome = judge(d, wanted, deps.say);
    if (outcome !== 'missing') return outcome;
    if (!deps.flags.interactive) {
      deps.say(`  [FAILED] ${name} is not a CNAME to ${wanted} yet: create the record above, then run ${nrcertCommand('init')} again`);
      return false;
    }
    const line = await deps.prompter.ask(`  ${name} is not a CNAME to ${wanted} yet. Create the record above, then press Enter (Ctrl-C stops; nothing is written): `);
    if (deps.signal.aborted) throw new AbortedError();
    if (line === null) return false;
  }
}

/** What the lookup means for init: use it, wait for the CNAME (--delegate-to), or refuse. */
function judge(d: Delegation, wanted: string | undefined, say: (line: string) => void): DelegationOutcome | 'missing' {
  if (d.kind === 'loop' || d.kind === 'too-deep') {
    say(`  [FAILED] ${d.reason}`);
    say(`      fix: fix the CNAME record of ${d.name} at your DNS host`);
    return false;
  }
  if (d.kind === 'failed') {
    say(`  [warning] ${d.reason}; checking the token at ${d.name} itself`);
    return wanted ? 'missing' : {};
  }
  if (d.kind === 'none') return wanted ? 'missing' : {};
  if (wanted && d.publishAt !== wanted) {
    say(`  ${d.name} is a CNAME to ${d.publishAt} (${d.chain.join(' → ')}), not to ${wanted}; using it as it is (change the record to follow --delegate-to)`);
  } else {
    say(`  [ok] ${d.chain.join(' → ')}: CNAME delegation. The records go at ${d.publishAt}, so the token needs Zone:Read and DNS:Edit on its zone only; checking the token there.`);
  }
  return { recordName: d.publishAt };
}

/** The offer, after a token that cannot see the domain's zone: delegate to a zone it can see. */
export function delegationOffer(domain: string): string[] {
  return [
    `  Least privilege: a token can be limited to another (throwaway) zone instead, with a CNAME from ${challengeRecordName(domain)} into it.`,
    `      ${nrcertCommand('init')} --delegate-to <that zone> prints the exact record to create.`,
  ];
}

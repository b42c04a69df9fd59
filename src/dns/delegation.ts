/**
 * CNAME delegation of the challenge name (least privilege): `_acme-challenge.example.com CNAME
 * _acme-challenge.example-acme.net` lets a token scoped to the throwaway zone example-acme.net
 * answer DNS-01 for example.com. RFC 8555 §8.4 has the CA look up the TXT record at
 * `_acme-challenge.<domain>`, and resolvers follow the CNAME (RFC 1034 §3.6.2), so the value is
 * published at the end of the chain.
 *
 * The decision is pure (`decideDelegation`, shaped like renewal/policy.ts): given the CNAME answers
 * seen so far it says which name to ask next, or what the outcome is, with a reason on every
 * branch. `followDelegation` is the thin loop that asks a CnameLookup (dns/cname-lookup.ts).
 */

/** What asking for a CNAME at one name gave. */
export type CnameAnswer =
  | { kind: 'cname'; target: string }
  /** NXDOMAIN or no CNAME at that name: the chain ends there (`zone`: the zone asked, when known). */
  | { kind: 'none'; zone?: string }
  /** No server gave an answer (timeout, SERVFAIL, refused): `error` says which and why. */
  | { kind: 'failed'; error: string };

/** Asks the DNS for the CNAME at `name` (one hop, not followed). */
export type CnameLookup = (name: string) => Promise<CnameAnswer>;

/** The outcome, with the reason for logs, errors and `doctor`. */
export type Delegation =
  /** No CNAME: the TXT value goes at the challenge name itself. */
  | { kind: 'none'; name: string; publishAt: string; reason: string }
  /** A chain of CNAMEs: the TXT value goes at its end, `publishAt`; `chain` starts with `name`. */
  | { kind: 'delegated'; name: string; publishAt: string; chain: string[]; zone?: string; reason: string }
  | { kind: 'loop'; name: string; chain: string[]; reason: string }
  | { kind: 'too-deep'; name: string; chain: string[]; reason: string }
  | { kind: 'failed'; name: string; chain: string[]; at: string; error: string; reason: string };

/** One step of the decision: ask the DNS about a name, or stop with the outcome. */
export type DelegationStep = { ask: string } | { done: Delegation };

/** How many CNAMEs a chain may have; resolvers give up around here too (BIND follows 16, Unbound 11). */
export const MAX_CNAME_HOPS = 8;

/** A DNS name as compared: lower case, no trailing dot. */
export function normalName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

const arrow = (chain: string[]) => chain.join(' → ');

/**
 * Decides from the answers so far (`answers[i]` is the answer for the i-th name asked: `name`,
 * then each target in turn). A chain that comes back to a name it passed is a loop; one with
 * more than `maxHops` CNAMEs is too deep; a lookup no server answered stops it (we cannot know
 * where the CA will look, so we do not guess).
 */
export function decideDelegation(name: string, answers: CnameAnswer[], maxHops = MAX_CNAME_HOPS): DelegationStep {
  const chain = [normalName(name)];
  for (const answer of answers) {
    const here = chain[chain.length - 1];
    if (answer.kind === 'failed') {
      const where = chain.length === 1 ? '' : ` (reached via ${arrow(chain)})`;
      return { done: { kind: 'failed', name: chain[0], chain, at: here, error: answer.error, reason: `cannot tell whether ${here} is a CNAME${where}: ${answer.error}` } };
    }
    if (answer.kind === 'none') {
      if (chain.length === 1) return { done: { kind: 'none', name: here, publishAt: here, reason: `${here} is not a CNAME: the TXT record goes there` } };
      return { done: { kind: 'delegated', name: chain[0], publishAt: here, chain, zone: answer.zone, reason: `${chain[0]} is delegated to ${here} via ${arrow(chain)}: the TXT record goes at ${here}` } };
    }
    const target = normalName(answer.target);
    if (chain.includes(target)) {
      const looped = [...chain, target];
      return { done: { kind: 'loop', name: chain[0], chain: looped, reason: `the CNAME chain of ${chain[0]} is a loop (${arrow(looped)}): no TXT record can be found there` } };
    }
    chain.push(target);
    if (chain.length - 1 > maxHops) {
      return { done: { kind: 'too-deep', name: chain[0], chain, reason: `the CNAME chain of ${chain[0]} is longer than ${maxHops} CNAMEs (${arrow(chain)} …): point the CNAME straight at the final name` } };
    }
  }
  return { ask: chain[chain.length - 1] };
}

/** Follows the chain of `name` by asking `lookup` one hop at a time, until decideDelegation is done. */
export async function followDelegation(name: string, lookup: CnameLookup, maxHops = MAX_CNAME_HOPS): Promise<Delegation> {
  const answers: CnameAnswer[] = [];
  for (;;) {
    const step = decideDelegation(name, answers, maxHops);
    if ('done' in step) return step.done;
    answers.push(await lookup(step.ask));
  }
}

/** Where the TXT value of each challenge name goes (itself unless delegated). */
export type PublishAt = Record<string, string>;

/** The name a challenge name's TXT value is published at. */
export function publishName(publishAt: PublishAt | undefined, name: string): string {
  return publishAt?.[normalName(name)] ?? name;
}

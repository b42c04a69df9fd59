/**
 * CNAME delegation of the challenge name, in memory: the pure decision on every branch, the loop
 * over a fake resolver (a map of CNAMEs, with names that fail to answer), and the plan the issuer
 * makes before any order over a fake provider that sees one zone only.
 */
import pino from 'pino';
import { planChallengeNames } from '../../src/acme/challenge-plan';
import { dnsCnameLookup } from '../../src/dns/cname-lookup';
import { decideDelegation, followDelegation, type CnameAnswer, type CnameLookup } from '../../src/dns/delegation';
import type { DnsProvider } from '../../src/dns/provider';
import { AbortedError, DelegationError, DnsProviderError, ExitCode } from '../../src/errors';

/** A resolver holding `cnames` (name → target); names in `failing` give no answer; every ask is noted. */
function fakeResolver(cnames: Record<string, string>, failing: string[] = [], zone?: string) {
  const asked: string[] = [];
  const lookup: CnameLookup = async (name) => {
    asked.push(name);
    if (failing.includes(name)) return { kind: 'failed', error: `no server answered a CNAME query for ${name} (ns1 (192.0.2.1): ETIMEOUT)` };
    const target = cnames[name];
    return target ? { kind: 'cname', target } : { kind: 'none', zone };
  };
  return { lookup, asked };
}

const A = '_acme-challenge.example.com';
const B = '_acme-challenge.example-acme.net';

describe('decideDelegation', () => {
  it('asks the name itself first', () => {
    expect(decideDelegation(A, [])).toEqual({ ask: A });
  });

  it('no CNAME: the value goes at the name itself', () => {
    expect(decideDelegation(`${A.toUpperCase()}.`, [{ kind: 'none' }])).toEqual({
      done: { kind: 'none', name: A, publishAt: A, reason: `${A} is not a CNAME: the TXT record goes there` },
    });
  });

  it('after a CNAME, asks its target (lower case, no trailing dot)', () => {
    expect(decideDelegation(A, [{ kind: 'cname', target: `${B.toUpperCase()}.` }])).toEqual({ ask: B });
  });

  it('delegated: the value goes at the end of the chain, with the chain and the zone the DNS named', () => {
    const step = decideDelegation(A, [{ kind: 'cname', target: B }, { kind: 'none', zone: 'example-acme.net' }]);
    expect(step).toEqual({
      done: {
        kind: 'delegated', name: A, publishAt: B, chain: [A, B], zone: 'example-acme.net',
        reason: `${A} is delegated to ${B} via ${A} → ${B}: the TXT record goes at ${B}`,
      },
    });
  });

  it('a chain that comes back to a name it passed is a loop', () => {
    const answers: CnameAnswer[] = [{ kind: 'cname', target: B }, { kind: 'cname', target: A }];
    expect(decideDelegation(A, answers)).toEqual({
      done: { kind: 'loop', name: A, chain: [A, B, A], reason: `the CNAME chain of ${A} is a loop (${A} → ${B} → ${A}): no TXT record can be found there` },
    });
  });

  it('a CNAME to itself is a loop', () => {
    expect(decideDelegation(A, [{ kind: 'cname', target: `${A}.` }])).toMatchObject({ done: { kind: 'loop', chain: [A, A] } });
  });

  it('maxHops CNAMEs are followed; one more is too deep', () => {
    const hops = (n: number): CnameAnswer[] => Array.from({ length: n }, (_, i) => ({ kind: 'cname', target: `_acme-challenge.h${i + 1}.test` }));
    expect(decideDelegation(A, [...hops(3), { kind: 'none' }], 3)).toMatchObject({ done: { kind: 'delegated', publishAt: '_acme-challenge.h3.test' } });
    const deep = decideDelegation(A, hops(4), 3);
    expect(deep).toMatchObject({ done: { kind: 'too-deep', chain: [A, '_acme-challenge.h1.test', '_acme-challenge.h2.test', '_acme-challenge.h3.test', '_acme-challenge.h4.test'] } });
    expect('done' in deep && deep.done.reason).toContain('longer than 3 CNAMEs');
  });

  it('a lookup no server answered stops the chain, naming where it was', () => {
    expect(decideDelegation(A, [{ kind: 'cname', target: B }, { kind: 'failed', error: 'ns1: ETIMEOUT' }])).toEqual({
      done: { kind: 'failed', name: A, chain: [A, B], at: B, error: 'ns1: ETIMEOUT', reason: `cannot tell whether ${B} is a CNAME (reached via ${A} → ${B}): ns1: ETIMEOUT` },
    });
  });
});

describe('followDelegation over a fake resolver', () => {
  it('follows a chain of three, asking each name once', async () => {
    const C = '_acme-challenge.final.test';
    const { lookup, asked } = fakeResolver({ [A]: B, [B]: `${C}.` });
    expect(await followDelegation(A, lookup)).toMatchObject({ kind: 'delegated', publishAt: C, chain: [A, B, C] });
    expect(asked).toEqual([A, B, C]);
  });

  it('stops at a loop without asking forever', async () => {
    const { lookup, asked } = fakeResolver({ [A]: B, [B]: A });
    expect(await followDelegation(A, lookup)).toMatchObject({ kind: 'loop' });
    expect(asked).toEqual([A, B]);
  });

  it('stops after 8 CNAMEs by default', async () => {
    const chain = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`_acme-challenge.h${i}.test`, `_acme-challenge.h${i + 1}.test`]));
    const { lookup, asked } = fakeResolver(chain);
    expect(await followDelegation('_acme-challenge.h0.test', lookup)).toMatchObject({ kind: 'too-deep' });
    // Eight CNAMEs followed; the ninth name asked is a CNAME too: one more than allowed.
    expect(asked).toHaveLength(9);
  });
});

/** A provider that sees the zones in `visible` only, as a Cloudflare token scoped to them does. */
function fakeProvider(visible: string[]) {
  const zoneAsked: string[] = [];
  const dns: DnsProvider = {
    name: 'fake',
    present: async () => { throw new Error('not in the plan'); },
    cleanup: async () => undefined,
    sweep: async () => 0,
    zoneOf: async (fqdn) => {
      zoneAsked.push(fqdn);
      const zone = visible.find((z) => fqdn === z || fqdn.endsWith(`.${z}`));
      if (!zone) throw new DnsProviderError(`fake: no zone for ${fqdn} is visible to the token`);
      return zone;
    },
    leftovers: () => [],
  };
  return { dns, zoneAsked };
}

const logger = pino({ level: 'silent' });

describe('planChallengeNames (the issuer, before any order)', () => {
  it('without CNAMEs, publishes at the names themselves and asks their zones', async () => {
    const { dns, zoneAsked } = fakeProvider(['example.com']);
    expect(await planChallengeNames([A], { dns, lookup: fakeResolver({}).lookup, logger })).toEqual({ [A]: A });
    expect(zoneAsked).toEqual([A]);
  });

  it('with a delegation, asks the provider only about the target: a token that sees the target zone alone is enough', async () => {
    const { dns, zoneAsked } = fakeProvider(['example-acme.net']);
    expect(await planChallengeNames([A], { dns, lookup: fakeResolver({ [A]: B }).lookup, logger })).toEqual({ [A]: B });
    expect(zoneAsked).toEqual([B]);
  });

  it('a target in a zone the provider cannot see fails, naming the CNAME, the zone and the fix', async () => {
    const { dns } = fakeProvider(['example.com']);
    const err = await planChallengeNames([A], { dns, lookup: fakeResolver({ [A]: B }, [], 'example-acme.net').lookup, logger }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DnsProviderError);
    expect((err as Error).message).toContain(`${A} is a CNAME to ${B} (${A} → ${B}), so the TXT record goes in the zone example-acme.net, but fake cannot publish there: fake: no zone for ${B} is visible to the token.`);
    expect((err as Error).message).toContain('Give the token DNS:Edit and Zone:Read on the zone example-acme.net, or point the CNAME at a name in a zone the token can see');
  });

  it('a loop is refused before the provider is asked anything', async () => {
    const { dns, zoneAsked } = fakeProvider(['example.com', 'example-acme.net']);
    const err = await planChallengeNames([A], { dns, lookup: fakeResolver({ [A]: B, [B]: A }).lookup, logger }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DelegationError);
    expect((err as DelegationError).exitCode).toBe(ExitCode.propagation);
    expect((err as Error).message).toBe(`the CNAME chain of ${A} is a loop (${A} → ${B} → ${A}): no TXT record can be found there; fix the CNAME record of ${A} at your DNS host`);
    expect(zoneAsked).toEqual([]);
  });

  it('a chain too long is refused too', async () => {
    const { dns } = fakeProvider(['test']);
    const chain = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`_acme-challenge.h${i}.test`, `_acme-challenge.h${i + 1}.test`]));
    const err = await planChallengeNames(['_acme-challenge.h0.test'], { dns, lookup: fakeResolver(chain).lookup, logger }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DelegationError);
    expect((err as Error).message).toContain('is longer than 8 CNAMEs');
  });

  it('a stop (SIGTERM, Ctrl-C) ends the plan at once, even while a CNAME lookup has not answered, before the provider is asked', async () => {
    const { dns, zoneAsked } = fakeProvider(['example.com']);
    const controller = new AbortController();
    let asked = 0;
    const silent: CnameLookup = () => {
      asked += 1;
      return new Promise<CnameAnswer>(() => {}); // a server that never answers (each real query is bounded at 2 s)
    };
    let outcome: unknown = 'still waiting';
    void planChallengeNames([A], { dns, lookup: silent, logger, signal: controller.signal }).then(() => (outcome = 'planned'), (e: unknown) => (outcome = e));
    await Promise.resolve();
    expect(asked).toBe(1);
    controller.abort();
    for (let i = 0; i < 5; i++) await Promise.resolve();
    expect(outcome).toBeInstanceOf(AbortedError);
    expect(zoneAsked).toEqual([]);
  });

  it('a lookup no server answered is warned about, and the value goes at the name itself (the propagation check then names the silent servers)', async () => {
    const { dns, zoneAsked } = fakeProvider(['example.com']);
    const warnings: string[] = [];
    const recording = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line).msg) });
    expect(await planChallengeNames([A], { dns, lookup: fakeResolver({}, [A]).lookup, logger: recording })).toEqual({ [A]: A });
    expect(zoneAsked).toEqual([A]);
    expect(warnings).toEqual([`cannot tell whether ${A} is a CNAME: no server answered a CNAME query for ${A} (ns1 (192.0.2.1): ETIMEOUT); publishing at ${A} itself`]);
  });
});

describe('dnsCnameLookup: where it asks (in memory, through its seams)', () => {
  it('with DNS_RESOLVERS, asks exactly them and never looks for the zone', async () => {
    const calls: Array<[string, string[] | undefined]> = [];
    const lookup = dnsCnameLookup({
      resolvers: ['192.0.2.53:53'],
      resolveNs: async () => { throw new Error('must not be asked'); },
      nameservers: async (zone, resolvers) => (calls.push([zone, resolvers]), []),
    });
    expect(await lookup(A)).toEqual({ kind: 'failed', error: `no server (DNS_RESOLVERS) answered a CNAME query for ${A} (none to ask)` });
    expect(calls).toEqual([['', ['192.0.2.53:53']]]);
  });

  it('without, finds the zone from the name\'s parent up and asks its nameservers', async () => {
    const nsAsked: string[] = [];
    const zones: string[] = [];
    const lookup = dnsCnameLookup({
      resolveNs: async (name) => {
        nsAsked.push(name);
        if (name === 'example.com') return ['ns1.example.com'];
        throw Object.assign(new Error('no'), { code: 'ENOTFOUND' });
      },
      nameservers: async (zone) => (zones.push(zone), []),
    });
    expect(await lookup('_acme-challenge.www.example.com')).toEqual({ kind: 'failed', error: 'no server (the nameservers of example.com) answered a CNAME query for _acme-challenge.www.example.com (none to ask)' });
    expect(nsAsked).toEqual(['www.example.com', 'example.com']);
    expect(zones).toEqual(['example.com']);
  });

  it('a zone search the resolver fails is a failed lookup, naming the resolver\'s error', async () => {
    const lookup = dnsCnameLookup({ resolveNs: async () => { throw Object.assign(new Error('servfail'), { code: 'ESERVFAIL' }); }, nameservers: async () => [] });
    expect(await lookup(A)).toEqual({ kind: 'failed', error: "looking up the nameservers of example.com through this machine's resolver failed (ESERVFAIL)" });
  });
});

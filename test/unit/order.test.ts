/**
 * The order engine meets challenge types it does not know (Let's Encrypt staging lists
 * `dns-persist-01` beside dns-01): it must answer dns-01 and leave the rest alone. And a provider
 * that holds one TXT value per name (`sequential`, DuckDNS) gets one authorization at a time.
 * In memory: an ACME client whose network calls are fakes but whose key authorization is
 * acme-client's own (which throws on an unknown type, as strict clients crashed), DnsProvider
 * fakes, and the propagation check and the pause replaced by recorders (this test is about the
 * ACME side).
 */
import * as acme from 'acme-client';
import type { Authorization, Order } from 'acme-client';
import pino from 'pino';
import { obtainCertificate } from '../../src/acme/order';
import type { DnsProvider, PresentedRecord } from '../../src/dns/provider';
import { AbortedError, AcmeError } from '../../src/errors';

/** What the engine did, in order, as the fakes below saw it. */
const mockEvents: string[] = [];
/** The values each propagation wait expected, and whether the fake DNS held exactly them then. */
const mockWaits: Array<{ fqdn: string; values: string[] }> = [];

const waited: Array<{ fqdn: string; zone: string }> = [];
jest.mock('../../src/dns/propagation', () => ({
  nameserversFor: async (zone: string) => [{ address: '192.0.2.53', port: 53, label: `ns of ${zone}` }],
  waitForTxt: async (fqdn: string, values: string[], servers: Array<{ label: string }>) => {
    mockWaits.push({ fqdn, values: [...values] });
    mockEvents.push(`wait ${values.join('+')}`);
    waited.push({ fqdn, zone: servers[0].label });
  },
}));

jest.mock('../../src/util/sleep', () => {
  const actual = jest.requireActual('../../src/util/sleep');
  const { AbortedError: Aborted } = jest.requireActual('../../src/errors');
  return {
    ...actual,
    sleep: async (ms: number, signal?: AbortSignal) => {
      mockEvents.push(`pause ${ms}`);
      if (signal?.aborted) throw new Aborted();
    },
  };
});

beforeEach(() => {
  mockEvents.length = 0;
  mockWaits.length = 0;
});

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const ORDER = { url: 'https://ca.test/order/1', status: 'pending', finalize: 'https://ca.test/finalize/1', authorizations: ['https://ca.test/authz/1'] } as unknown as Order;

/** A dns-persist-01 challenge as draft-ietf-acme-dns-persist shapes it: no token, fields of its own. */
const PERSIST = { type: 'dns-persist-01', url: 'https://ca.test/chall/persist', status: 'pending', 'issuer-domain-names': ['letsencrypt.org'] };
const DNS01 = { type: 'dns-01', url: 'https://ca.test/chall/dns', status: 'pending', token: 'tok-dns' };
const HTTP01 = { type: 'http-01', url: 'https://ca.test/chall/http', status: 'pending', token: 'tok-http' };

function authz(challenges: object[]): Authorization {
  return { url: 'https://ca.test/authz/1', status: 'pending', identifier: { type: 'dns', value: 'example.test' }, challenges } as unknown as Authorization;
}

/** A real acme-client Client (no network used) with the calls obtainCertificate makes replaced. */
async function fakeClient(authorizations: Authorization[]) {
  const client = new acme.Client({ directoryUrl: 'https://ca.test/dir', accountKey: await acme.crypto.createPrivateEcdsaKey() });
  const answered: string[] = [];
  Object.assign(client, {
    createOrder: async () => ORDER,
    getAuthorizations: async () => authorizations,
    completeChallenge: async (c: { url: string }) => (answered.push(c.url), c),
    waitForValidStatus: async (x: object) => ({ ...x, status: 'valid' }),
    finalizeOrder: async () => ({ ...ORDER, status: 'valid' }),
    getCertificate: async () => PEM,
  });
  return { client, answered };
}

function fakeDns() {
  const presented: PresentedRecord[] = [];
  const removed: string[] = [];
  const dns: DnsProvider = {
    name: 'fake',
    present: async (fqdn, value) => {
      const record = { fqdn, value, id: `r${presented.length}`, zoneId: 'z' };
      presented.push(record);
      return record;
    },
    cleanup: async (record) => void removed.push(record.id),
    sweep: async () => 0,
    zoneOf: async (fqdn: string) => (fqdn.endsWith('acme-zone.test') ? 'acme-zone.test' : 'example.test'),
    leftovers: () => [],
  };
  return { dns, presented, removed };
}

const logger = pino({ level: 'silent' });

describe('obtainCertificate with challenge types it does not know', () => {
  it('answers dns-01 and ignores dns-persist-01 listed before it', async () => {
    const { client, answered } = await fakeClient([authz([PERSIST, HTTP01, DNS01])]);
    const { dns, presented, removed } = fakeDns();
    const set = await obtainCertificate({ client, names: ['example.test'], keyType: 'ecdsa-p256', dns, logger, propagationTimeoutMs: 1000 });
    expect(set.cert).toBe(PEM);
    expect(presented).toEqual([expect.objectContaining({ fqdn: '_acme-challenge.example.test', value: await client.getChallengeKeyAuthorization(DNS01 as never) })]);
    expect(answered).toEqual([DNS01.url]);
    expect(removed).toEqual(['r0']);
  });

  it('refuses an authorization without dns-01, naming what the CA offered, before publishing anything', async () => {
    const { client, answered } = await fakeClient([authz([PERSIST, HTTP01])]);
    const { dns, presented } = fakeDns();
    const err = await obtainCertificate({ client, names: ['example.test'], keyType: 'ecdsa-p256', dns, logger, propagationTimeoutMs: 1000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AcmeError);
    expect((err as Error).message).toContain('offers no dns-01 challenge for example.test (it offers dns-persist-01, http-01)');
    expect(presented).toEqual([]);
    expect(answered).toEqual([]);
  });
});

const APEX = { type: 'dns-01', url: 'https://ca.test/chall/apex', status: 'pending', token: 'tok-apex' };
const WILD = { type: 'dns-01', url: 'https://ca.test/chall/wild', status: 'pending', token: 'tok-wild' };

/** The apex and the wildcard authorization of example.test, as a CA hands them out. */
function apexAndWildcard(): Authorization[] {
  return [
    { url: 'https://ca.test/authz/apex', status: 'pending', identifier: { type: 'dns', value: 'example.test' }, challenges: [APEX] },
    { url: 'https://ca.test/authz/wild', status: 'pending', identifier: { type: 'dns', value: 'example.test' }, wildcard: true, challenges: [WILD] },
  ] as unknown as Authorization[];
}

/** A DNS host with one TXT value per name (a new value replaces the old), as DuckDNS is. */
function oneValueDns(sequential: { intervalMs: number } | undefined) {
  const held = new Map<string, string>();
  const dns: DnsProvider = {
    name: 'one-value',
    sequential,
    present: async (fqdn, value) => {
      held.set(fqdn, value);
      mockEvents.push(`present ${value}`);
      return { fqdn, value, id: fqdn, zoneId: 'z' };
    },
    cleanup: async (record) => {
      held.delete(record.fqdn);
      mockEvents.push('cleanup');
    },
    sweep: async () => 0,
    zoneOf: async () => 'example.test',
    leftovers: () => [],
  };
  return { dns, held };
}

/**
 * An ACME client that answers a challenge `valid` only when the DNS holds its value at the moment
 * it is answered (as the CA looks then), and records when each is answered and seen valid.
 */
async function validatingClient(held: Map<string, string>, opts: { onValid?: (url: string) => void } = {}) {
  const { client } = await fakeClient(apexAndWildcard());
  const expected = new Map<string, string>();
  for (const c of [APEX, WILD]) expected.set(c.url, await client.getChallengeKeyAuthorization(c as never));
  const verdict = new Map<string, string>();
  let finalized = false;
  Object.assign(client, {
    completeChallenge: async (c: { url: string }) => {
      mockEvents.push(`answer ${expected.get(c.url)}`);
      verdict.set(c.url, held.get('_acme-challenge.example.test') === expected.get(c.url) ? 'valid' : 'invalid');
      return c;
    },
    waitForValidStatus: async (x: { url: string }) => {
      if (x.url === ORDER.url) return { ...ORDER, status: 'valid' };
      if (verdict.get(x.url) !== 'valid') throw new Error(`incorrect TXT record found at _acme-challenge.example.test`);
      mockEvents.push(`valid ${expected.get(x.url)}`);
      opts.onValid?.(x.url);
      return { ...x, status: 'valid' };
    },
    finalizeOrder: async () => ((finalized = true), { ...ORDER, status: 'valid' }),
  });
  return { client, apex: expected.get(APEX.url)!, wild: expected.get(WILD.url)!, finalized: () => finalized };
}

describe('obtainCertificate with a provider that holds one TXT value per name (sequential)', () => {
  const order = (client: acme.Client, dns: DnsProvider, signal?: AbortSignal) =>
    obtainCertificate({ client, names: ['example.test', '*.example.test'], keyType: 'ecdsa-p256', dns, logger, propagationTimeoutMs: 1000, signal });

  it('validates the apex and the wildcard one after the other: each value seen, then answered, then valid, then the next', async () => {
    const { dns, held } = oneValueDns({ intervalMs: 5000 });
    const { client, apex, wild } = await validatingClient(held);
    const set = await order(client, dns);
    expect(set.cert).toBe(PEM);
    expect(mockEvents).toEqual([
      `present ${apex}`, `wait ${apex}`, `answer ${apex}`, `valid ${apex}`,
      'pause 5000',
      `present ${wild}`, `wait ${wild}`, `answer ${wild}`, `valid ${wild}`,
      'cleanup', 'cleanup',
    ]);
    // Never two values expected at once: each wait is for the one value the DNS holds.
    expect(mockWaits).toEqual([{ fqdn: '_acme-challenge.example.test', values: [apex] }, { fqdn: '_acme-challenge.example.test', values: [wild] }]);
    expect(held.size).toBe(0);
  });

  it('without the capability publishes both at once, as before (and one value per name then fails the apex)', async () => {
    const { dns, held } = oneValueDns(undefined);
    const { client, apex, wild } = await validatingClient(held);
    const err = await order(client, dns).catch((e: unknown) => e);
    expect(mockEvents.slice(0, 3)).toEqual([`present ${apex}`, `present ${wild}`, `wait ${apex}+${wild}`]);
    expect(err).toBeInstanceOf(AcmeError);
    expect(mockEvents.at(-1)).toBe('cleanup');
  });

  it('a failed second authorization still cleans up, and nothing is finalised', async () => {
    const { dns, held } = oneValueDns({ intervalMs: 0 });
    const { client, apex, finalized } = await validatingClient(held);
    // The wildcard's value never reaches the DNS: the CA finds the apex value there.
    const present = dns.present;
    dns.present = async (fqdn, value) => (value === apex ? present(fqdn, value) : (mockEvents.push('present lost'), { fqdn, value, id: fqdn, zoneId: 'z' }));
    const err = await order(client, dns).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AcmeError);
    expect((err as Error).message).toContain('could not validate _acme-challenge.example.test (wildcard)');
    expect(mockEvents).toEqual([`present ${apex}`, `wait ${apex}`, `answer ${apex}`, `valid ${apex}`, 'present lost', expect.stringMatching(/^wait /), expect.stringMatching(/^answer /), 'cleanup', 'cleanup']);
    expect(finalized()).toBe(false);
  });

  it('interrupted between two authorizations: stops before the next value, and cleans up', async () => {
    const { dns, held } = oneValueDns({ intervalMs: 60_000 });
    const controller = new AbortController();
    const { client, apex } = await validatingClient(held, { onValid: () => controller.abort() });
    const err = await order(client, dns, controller.signal).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortedError);
    expect(mockEvents).toEqual([`present ${apex}`, `wait ${apex}`, `answer ${apex}`, `valid ${apex}`, 'cleanup']);
    expect(held.size).toBe(0);
  });
});

describe('obtainCertificate with a CNAME delegation (publishAt)', () => {
  it('publishes both values at the target, waits at the target zone\'s nameservers, removes them by id', async () => {
    const wildcard = { ...authz([DNS01]), wildcard: true, url: 'https://ca.test/authz/2' } as unknown as Authorization;
    const { client } = await fakeClient([authz([DNS01]), wildcard]);
    const { dns, presented, removed } = fakeDns();
    waited.length = 0;
    await obtainCertificate({
      client, names: ['example.test', '*.example.test'], keyType: 'ecdsa-p256', dns, logger, propagationTimeoutMs: 1000,
      publishAt: { '_acme-challenge.example.test': '_acme-challenge.acme-zone.test' },
    });
    expect(presented.map((r) => r.fqdn)).toEqual(['_acme-challenge.acme-zone.test', '_acme-challenge.acme-zone.test']);
    expect(waited).toEqual([{ fqdn: '_acme-challenge.acme-zone.test', zone: 'ns of acme-zone.test' }]);
    expect(removed.sort()).toEqual(['r0', 'r1']);
  });
});

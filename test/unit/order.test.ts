/**
 * The order engine meets challenge types it does not know (Let's Encrypt staging lists
 * `dns-persist-01` beside dns-01): it must answer dns-01 and leave the rest alone. In memory: an
 * ACME client whose network calls are fakes but whose key authorization is acme-client's own
 * (which throws on an unknown type, as strict clients crashed), a DnsProvider fake, and the
 * propagation check replaced (this test is about the ACME side).
 */
import * as acme from 'acme-client';
import type { Authorization, Order } from 'acme-client';
import pino from 'pino';
import { obtainCertificate } from '../../src/acme/order';
import type { DnsProvider, PresentedRecord } from '../../src/dns/provider';
import { AcmeError } from '../../src/errors';

const waited: Array<{ fqdn: string; zone: string }> = [];
jest.mock('../../src/dns/propagation', () => ({
  nameserversFor: async (zone: string) => [{ address: '192.0.2.53', port: 53, label: `ns of ${zone}` }],
  waitForTxt: async (fqdn: string, _values: string[], servers: Array<{ label: string }>) => void waited.push({ fqdn, zone: servers[0].label }),
}));

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

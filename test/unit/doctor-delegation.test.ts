/**
 * doctor's delegation line, in memory: a fake CNAME resolver and a fake provider zone look-up.
 * It shows the chain with the zone the records go to, and fails (with a fix) on a loop, a lookup
 * no server answered, and a target zone the provider cannot see. The cloudflare check tests the
 * token where the records go.
 */
import { checkCloudflare, type TokenCheck } from '../../src/doctor/checks/cloudflare';
import { checkDelegation, delegationsFor } from '../../src/doctor/checks/delegation';
import type { CnameLookup } from '../../src/dns/delegation';
import type { TokenCheckOptions } from '../../src/dns/cloudflare/token-check';
import { createLogger } from '../../src/log';
import { testConfig } from '../helpers/config';

const config = testConfig('/nonexistent', { DOMAINS: 'example.test,*.example.test', DNS_RESOLVERS: '127.0.0.1:9' });
const lookup = (cnames: Record<string, string>, failing: string[] = []): CnameLookup => async (name) =>
  failing.includes(name) ? { kind: 'failed', error: `no server answered for ${name}` } : cnames[name] ? { kind: 'cname', target: cnames[name] } : { kind: 'none' };
const A = '_acme-challenge.example.test';
const B = '_acme-challenge.acme-zone.test';
const zoneOf = async (fqdn: string) => {
  if (fqdn.endsWith('.acme-zone.test')) return 'acme-zone.test';
  throw new Error(`cloudflare: no zone for ${fqdn} is visible to CLOUDFLARE_API_TOKEN`);
};

describe('doctor: the delegation check', () => {
  it('shows the chain and the zone the records go to', async () => {
    const result = await checkDelegation(config, delegationsFor(config, lookup({ [A]: B })), { zoneOf });
    expect(result).toEqual({ id: 'delegation', status: 'ok', message: `${A} → ${B} (zone acme-zone.test)` });
  });

  it('without a CNAME, says the records go at the name itself', async () => {
    expect(await checkDelegation(config, delegationsFor(config, lookup({})), { zoneOf })).toEqual({
      id: 'delegation', status: 'ok', message: `${A} is not a CNAME (the TXT records go there)`,
    });
  });

  it('fails on a target zone the provider cannot see, with the fix', async () => {
    const result = await checkDelegation(config, delegationsFor(config, lookup({ [A]: '_acme-challenge.blocked.test' })), { zoneOf });
    expect(result).toMatchObject({ status: 'fail', message: `${A} → _acme-challenge.blocked.test: the DNS provider cannot publish there: cloudflare: no zone for _acme-challenge.blocked.test is visible to CLOUDFLARE_API_TOKEN` });
    expect(result.fix).toContain('give the token Zone:Read and DNS:Edit on the zone of _acme-challenge.blocked.test');
  });

  it('fails on a loop and on a lookup no server answered', async () => {
    expect(await checkDelegation(config, delegationsFor(config, lookup({ [A]: B, [B]: A })), { zoneOf })).toMatchObject({
      status: 'fail', message: expect.stringContaining(`is a loop (${A} → ${B} → ${A})`), fix: `fix the CNAME record of ${A} at your DNS host`,
    });
    expect(await checkDelegation(config, delegationsFor(config, lookup({}, [A])), { zoneOf })).toMatchObject({
      status: 'fail', message: `cannot tell whether ${A} is a CNAME: no server answered for ${A}`,
    });
  });

  it('the token check is asked about the target name when delegated', async () => {
    const asked: TokenCheckOptions[] = [];
    const tokenCheck: TokenCheck = async (opts) => (asked.push(opts), { ok: true, items: [] });
    await checkCloudflare(config, createLogger('silent'), tokenCheck, delegationsFor(config, lookup({ [A]: B })));
    expect(asked.map((o) => [o.domain, o.recordName])).toEqual([['example.test', B]]);
  });
});

/** The pure client-CA decisions: which client certificates to report as expiring, and when the CRL is fresh. */
import { crlVerdict, expiringClients } from '../../src/clients/policy';
import type { ClientRecord } from '../../src/clients/store';

const NOW = new Date('2026-12-01T12:00:00Z');
const day = (n: number) => new Date(NOW.getTime() + n * 86_400_000).toISOString();
const client = (name: string, notAfterDays: number, revoked = false, serial = `0a${name.length}`): ClientRecord => ({
  name, serial, notBefore: day(-300), notAfter: day(notAfterDays), revokedAt: revoked ? day(-1) : null, p12: 'legacy',
});

describe('expiringClients', () => {
  test('reports active certificates under 30 days left (and expired ones), soonest first, with a reason', () => {
    const found = expiringClients([client('far', 31), client('soon', 29.5), client('expired', -2), client('gone', 3, true), client('edge', 30)], NOW);
    expect(found.map((f) => f.name)).toEqual(['expired', 'soon']);
    expect(found[0]).toMatchObject({ expired: true, reason: expect.stringContaining('expired on') });
    expect(found[1]).toMatchObject({ expired: false, daysLeft: 29, reason: expect.stringContaining('29 days left') });
  });

  test('simulated over 60 days, a 40-day certificate is reported from day 11 on, every day, until it is replaced', () => {
    const phone = client('phone', 40);
    const reported: number[] = [];
    for (let d = 0; d < 60; d++) {
      const at = new Date(NOW.getTime() + d * 86_400_000);
      if (expiringClients([phone], at).length > 0) reported.push(d);
    }
    expect(reported[0]).toBe(11);
    expect(reported).toHaveLength(49);
  });
});

describe('crlVerdict', () => {
  const revoked = client('old', 100, true, '00Ab12');
  test('fresh: signed by the CA, lists every revoked serial (any spelling), nextUpdate well ahead', () => {
    expect(crlVerdict({ signedByCa: true, nextUpdate: new Date(day(400)), serials: ['ab12'] }, [revoked, client('new', 90)], NOW)).toMatchObject({ fresh: true });
  });
  test('stale: missing, foreign signature, a revoked serial not listed, nextUpdate within 30 days', () => {
    expect(crlVerdict(null, [], NOW)).toMatchObject({ fresh: false, reason: 'there is no readable CRL' });
    expect(crlVerdict({ signedByCa: false, nextUpdate: new Date(day(400)), serials: ['ab12'] }, [revoked], NOW).fresh).toBe(false);
    expect(crlVerdict({ signedByCa: true, nextUpdate: new Date(day(400)), serials: [] }, [revoked], NOW)).toMatchObject({ fresh: false, reason: expect.stringContaining('"old"') });
    expect(crlVerdict({ signedByCa: true, nextUpdate: new Date(day(10)), serials: ['ab12'] }, [revoked], NOW)).toMatchObject({ fresh: false, reason: expect.stringContaining('every client certificate is refused') });
  });
});

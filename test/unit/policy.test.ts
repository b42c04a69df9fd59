import { decideRenewal, dueAt } from '../../src/renewal/policy';
import type { CertificateInfo } from '../../src/store/types';

const DAY = 24 * 3600 * 1000;
const ISSUED = new Date('2025-03-01T12:00:00Z');
const NAMES = ['example.com', '*.example.com'];

function cert(lifetimeDays: number, names = NAMES): CertificateInfo {
  return {
    names,
    notBefore: ISSUED,
    notAfter: new Date(ISSUED.getTime() + lifetimeDays * DAY),
    serial: '01',
    fingerprint256: 'AA:BB',
    issuer: 'CN=Test CA',
  };
}

const at = (days: number) => new Date(ISSUED.getTime() + days * DAY);

describe('dueAt', () => {
  it.each([
    [90, 60],
    [45, 30],
    [6, 4],
  ])('puts a %i-day certificate due after day %i (one third of its lifetime left)', (lifetime, dueDay) => {
    expect(dueAt(cert(lifetime))).toEqual(at(dueDay));
  });
});

describe('decideRenewal', () => {
  it.each([
    [90, 59.9, 60.1],
    [45, 29.9, 30.1],
    [6, 3.9, 4.1],
  ])('a %i-day certificate is not due on day %f and due on day %f', (lifetime, before, after) => {
    const early = decideRenewal({ installed: cert(lifetime), names: NAMES, now: at(before) });
    expect(early.due).toBe(false);
    expect(early.dueAt).toEqual(at((lifetime * 2) / 3));
    expect(early.reason).toContain(at((lifetime * 2) / 3).toISOString());

    const late = decideRenewal({ installed: cert(lifetime), names: NAMES, now: at(after) });
    expect(late).toEqual({ due: true, reason: 'less than a third of its lifetime is left', dueAt: at((lifetime * 2) / 3) });
  });

  it('is due exactly at the one-third point', () => {
    expect(decideRenewal({ installed: cert(90), names: NAMES, now: at(60) }).due).toBe(true);
  });

  it('says the certificate has expired once it has', () => {
    for (const now of [at(90), at(200)]) {
      const decision = decideRenewal({ installed: cert(90), names: NAMES, now });
      expect(decision.due).toBe(true);
      expect(decision.reason).toBe('the installed certificate has expired');
    }
  });

  it('renews a fresh certificate that lacks a configured name, naming it', () => {
    const decision = decideRenewal({ installed: cert(90, ['example.com']), names: [...NAMES, 'other.example'], now: at(1) });
    expect(decision.due).toBe(true);
    expect(decision.reason).toBe('the installed certificate does not cover *.example.com, other.example');
  });

  it('compares names without regard to case', () => {
    const decision = decideRenewal({ installed: cert(90, ['EXAMPLE.com', '*.Example.COM']), names: NAMES, now: at(1) });
    expect(decision.due).toBe(false);
  });

  it('renews a fresh certificate when forced', () => {
    const decision = decideRenewal({ installed: cert(90), names: NAMES, now: at(1), force: true });
    expect(decision).toMatchObject({ due: true, reason: expect.stringContaining('forced'), dueAt: at(60) });
  });

  it('is due when there is no certificate, with no due date', () => {
    expect(decideRenewal({ installed: null, names: NAMES, now: at(0) })).toEqual({ due: true, reason: 'no certificate is installed yet' });
  });
});

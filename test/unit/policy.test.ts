import { decideRenewal, dueAt, emergencyAt } from '../../src/renewal/policy';
import type { RenewalInfo } from '../../src/acme/ari';
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

describe('decideRenewal with the CA\'s renewal window (ARI)', () => {
  // Without a Retry-After of its own, the CA is asked again long after anything here happens.
  const ari = (start: number, end: number, chosen?: number, retryAfter?: number): RenewalInfo => ({
    certId: 'aki.serial',
    window: { start: at(start), end: at(end) },
    chosenAt: chosen === undefined ? undefined : at(chosen),
    retryAfter: at(retryAfter ?? 10_000),
  });

  it.each([
    [90, ari(50, 52, 51)],
    [45, ari(24, 26, 25.5)],
    [6, ari(2.5, 3.5, 3)],
  ])('a %i-day certificate follows a future window: not due before the chosen time, due from it', (lifetime, advice) => {
    const chosen = advice.chosenAt!;
    const before = decideRenewal({ installed: cert(lifetime), names: NAMES, now: new Date(chosen.getTime() - 60_000), ari: advice });
    expect(before).toMatchObject({ due: false, dueAt: chosen, nextCheck: chosen });
    expect(before.reason).toBe(
      `ARI: the CA suggests renewing between ${advice.window.start.toISOString()} and ${advice.window.end.toISOString()}; chose ${chosen.toISOString()}; not due until ${chosen.toISOString()}`,
    );
    const after = decideRenewal({ installed: cert(lifetime), names: NAMES, now: chosen, ari: advice });
    expect(after).toMatchObject({ due: true, dueAt: chosen, reason: expect.stringMatching(/^ARI: the CA suggests renewing between .*; chose /) });
  });

  it('wins over the one-third rule both ways: earlier and later', () => {
    // The CA asks for day 40 (one third left would be day 60): due on day 41.
    expect(decideRenewal({ installed: cert(90), names: NAMES, now: at(41), ari: ari(39, 42, 40) }).due).toBe(true);
    // The CA asks for day 75: not due on day 65, although less than a third is left.
    const later = decideRenewal({ installed: cert(90), names: NAMES, now: at(65), ari: ari(74, 76, 75) });
    expect(later).toMatchObject({ due: false, dueAt: at(75) });
  });

  it('is due when the whole window lies in the past, whatever was chosen', () => {
    const decision = decideRenewal({ installed: cert(90), names: NAMES, now: at(30), ari: ari(20, 21, 40) });
    expect(decision).toMatchObject({ due: true, reason: expect.stringMatching(/the window has passed$/) });
  });

  it('with a window already open, waits for the chosen time (its start when none was chosen)', () => {
    expect(decideRenewal({ installed: cert(90), names: NAMES, now: at(30), ari: ari(29, 33, 31) }).due).toBe(false);
    expect(decideRenewal({ installed: cert(90), names: NAMES, now: at(31), ari: ari(29, 33, 31) }).due).toBe(true);
    expect(decideRenewal({ installed: cert(90), names: NAMES, now: at(30), ari: ari(29, 33) })).toMatchObject({ due: true, dueAt: at(29) });
  });

  it('keeps a chosen time that lies outside the window inside it', () => {
    expect(decideRenewal({ installed: cert(90), names: NAMES, now: at(1), ari: ari(50, 52, 80) }).dueAt).toEqual(at(52));
  });

  it('checks again at Retry-After when that comes before the chosen time', () => {
    const decision = decideRenewal({ installed: cert(90), names: NAMES, now: at(10), ari: ari(50, 52, 51, 10.25) });
    expect(decision).toMatchObject({ due: false, dueAt: at(51), nextCheck: at(10.25) });
    expect(decideRenewal({ installed: cert(90), names: NAMES, now: at(10), ari: ari(50, 52, 51, 60) }).nextCheck).toEqual(at(51));
  });

  it('falls back to one third of the lifetime without ARI, checking next at that point', () => {
    expect(decideRenewal({ installed: cert(45), names: NAMES, now: at(1) })).toMatchObject({ due: false, dueAt: at(30), nextCheck: at(30) });
  });

  it('ignores a window that ended before the certificate was issued (a stale answer), saying so', () => {
    const stale = ari(-10, -9, -9.5);
    const decision = decideRenewal({ installed: cert(6), names: NAMES, now: at(1), ari: stale });
    expect(decision).toMatchObject({ due: false, dueAt: at(4) });
    expect(decision.reason).toMatch(/ignored a CA renewal window that ended before this certificate was issued/);
  });

  it.each([
    [90, 85.5],
    [45, 42.75],
    [6, 5.7],
  ])('renews a %i-day certificate in an emergency (less than 1/20 left, from day %f) even when ARI says later', (lifetime, emergencyDay) => {
    const late = ari(lifetime - 0.2, lifetime - 0.1, lifetime - 0.15);
    expect(emergencyAt(cert(lifetime)).getTime()).toBeCloseTo(at(emergencyDay).getTime(), -1);
    const before = decideRenewal({ installed: cert(lifetime), names: NAMES, now: at(emergencyDay - 0.01), ari: late });
    expect(before.due).toBe(false);
    expect(before.dueAt!.getTime()).toBeCloseTo(at(emergencyDay).getTime(), -1);
    const emergency = decideRenewal({ installed: cert(lifetime), names: NAMES, now: at(emergencyDay + 0.01), ari: late });
    expect(emergency).toMatchObject({ due: true, reason: 'emergency: less than 1/20 of the lifetime left (renewing whatever ARI says)' });
  });

  it('says "emergency" without ARI too', () => {
    expect(decideRenewal({ installed: cert(90), names: NAMES, now: at(86) }).reason).toBe('emergency: less than 1/20 of the lifetime left');
  });

  it('still renews when forced, or when a name is missing, whatever ARI says', () => {
    expect(decideRenewal({ installed: cert(90), names: NAMES, now: at(1), force: true, ari: ari(50, 52, 51) }).due).toBe(true);
    expect(decideRenewal({ installed: cert(90, ['example.com']), names: NAMES, now: at(1), ari: ari(50, 52, 51) }).due).toBe(true);
  });
});

describe('no renewal loop (fake clock, hourly checks over 60 days)', () => {
  const HOUR = 3600_000;

  /** Runs hourly checks; each renewal issues a fresh certificate with `lifetimeDays` from that hour. */
  function simulate(lifetimeDays: number, window?: (issued: Date) => { start: Date; end: Date }): Date[] {
    let random = 0.37;
    const nextRandom = () => (random = (random * 9301 + 0.49297) % 1);
    const issue = (t: Date) => {
      const installed = { ...cert(lifetimeDays), notBefore: t, notAfter: new Date(t.getTime() + lifetimeDays * DAY) };
      const w = window?.(t);
      // What the caller keeps per certificate: the window and a time chosen once inside it.
      const advice = w ? { certId: 'aki.serial', window: w, chosenAt: new Date(w.start.getTime() + (w.end.getTime() - w.start.getTime()) * nextRandom()), retryAfter: new Date(t.getTime() + 1000 * DAY) } : undefined;
      return { installed, advice };
    };
    let current = issue(ISSUED);
    const renewals: Date[] = [];
    for (let t = ISSUED.getTime() + HOUR; t <= ISSUED.getTime() + 60 * DAY; t += HOUR) {
      const now = new Date(t);
      if (decideRenewal({ installed: current.installed, names: NAMES, now, ari: current.advice }).due) {
        renewals.push(now);
        current = issue(now);
        // Right after a renewal the fresh certificate is not due.
        expect(decideRenewal({ installed: current.installed, names: NAMES, now, ari: current.advice }).due).toBe(false);
      }
    }
    return renewals;
  }

  const gapsInDays = (renewals: Date[]) => renewals.slice(1).map((r, i) => (r.getTime() - renewals[i]!.getTime()) / DAY);

  it.each([[6, 4, 15], [45, 30, 2], [90, 60, 1]])('a %i-day certificate without ARI renews once every %i days', (lifetime, every, count) => {
    const renewals = simulate(lifetime);
    expect(renewals).toHaveLength(count);
    expect(renewals[0]).toEqual(at(every));
    for (const gap of gapsInDays(renewals)) expect(gap).toBe(every);
  });

  it('a 6-day certificate with an ARI window on day 3–3.5 of each certificate renews once per certificate, inside it', () => {
    const renewals = simulate(6, (t) => ({ start: new Date(t.getTime() + 3 * DAY), end: new Date(t.getTime() + 3.5 * DAY) }));
    expect(renewals.length).toBeGreaterThanOrEqual(60 / 3.5 - 1);
    expect(renewals.length).toBeLessThanOrEqual(60 / 3);
    for (const gap of gapsInDays(renewals)) {
      expect(gap).toBeGreaterThanOrEqual(3);
      expect(gap).toBeLessThanOrEqual(3.5 + 1 / 24);
    }
  });

  it('a CA asking for an immediate renewal (window already passed) gets exactly one, then the new certificate\'s window applies', () => {
    let first = true;
    const renewals = simulate(6, (t) => {
      if (!first) return { start: new Date(t.getTime() + 3 * DAY), end: new Date(t.getTime() + 3.5 * DAY) };
      first = false;
      return { start: new Date(t.getTime() + 0.5 * HOUR), end: new Date(t.getTime() + 0.75 * HOUR) };
    });
    expect(renewals[0]).toEqual(new Date(ISSUED.getTime() + HOUR));
    expect(gapsInDays(renewals).every((gap) => gap >= 3)).toBe(true);
  });
});

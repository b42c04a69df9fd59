import pino from 'pino';
import { AbortedError, AcmeError, DnsProviderError, ConfigError, PropagationError } from '../../src/errors';
import { withRetry, type RetryPolicy } from '../../src/util/retry';

const POLICY: RetryPolicy = { attempts: 4, baseDelayMs: 5, maxWaitMs: 1000 };

/** A call that throws the given errors in turn, then returns 'done'; counts its calls. */
function flaky(...errors: unknown[]) {
  const call = async () => {
    call.calls++;
    if (call.calls <= errors.length) throw errors[call.calls - 1];
    return 'done';
  };
  call.calls = 0;
  return call;
}

function capturingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  return { logger: pino({ level: 'warn' }, { write: (l: string) => lines.push(JSON.parse(l)) }), lines };
}

const transient = () => new DnsProviderError('cloudflare: busy', { transient: true });

describe('withRetry', () => {
  it('retries transient failures until the call succeeds, logging each retry', async () => {
    const fn = flaky(transient(), new PropagationError('not yet'));
    const { logger, lines } = capturingLogger();
    await expect(withRetry('create TXT', fn, { logger, policy: POLICY })).resolves.toBe('done');
    expect(fn.calls).toBe(3);
    expect(lines.map((l) => [l.msg, l.attempt])).toEqual([['create TXT failed; retrying', 1], ['create TXT failed; retrying', 2]]);
  });

  it('gives up after the last attempt with the last error', async () => {
    const last = transient();
    const fn = flaky(transient(), transient(), transient(), last, transient());
    await expect(withRetry('x', fn, { logger: pino({ level: 'silent' }), policy: POLICY })).rejects.toBe(last);
    expect(fn.calls).toBe(POLICY.attempts);
  });

  it.each([
    ['a permanent provider error', new DnsProviderError('token refused')],
    ['a config error', new ConfigError(['DOMAINS is empty'])],
    ['an error that is not ours', new TypeError('bug')],
    ['an ACME server that did not answer within ACME_TIMEOUT (a retry multiplies the wait)', new AcmeError('did not answer within 30 s', { transient: true, timedOut: true })],
    ['a badNonce that acme-client already retried five times', new AcmeError('kept rejecting nonces', { transient: true, problemType: 'badNonce', status: 400 })],
  ])('gives up at once on %s', async (_what, error) => {
    const fn = flaky(error);
    await expect(withRetry('x', fn, { logger: pino({ level: 'silent' }), policy: POLICY })).rejects.toBe(error);
    expect(fn.calls).toBe(1);
  });

  it('waits as long as Retry-After asks when that is within maxWaitMs', async () => {
    const fn = flaky(new AcmeError('rate limited', { transient: true, retryAfter: new Date(Date.now() + 300) }));
    const started = Date.now();
    await expect(withRetry('order', fn, { logger: pino({ level: 'silent' }), policy: POLICY })).resolves.toBe('done');
    expect(fn.calls).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
  });

  it('does not wait for a Retry-After beyond maxWaitMs: the error goes to the caller at once', async () => {
    const limited = new AcmeError('rate limited', { transient: true, retryAfter: new Date(Date.now() + 3_600_000) });
    const fn = flaky(limited);
    const started = Date.now();
    await expect(withRetry('order', fn, { logger: pino({ level: 'silent' }), policy: POLICY })).rejects.toBe(limited);
    expect(fn.calls).toBe(1);
    expect(Date.now() - started).toBeLessThan(900);
  });

  it('stops waiting with AbortedError when the signal fires', async () => {
    const controller = new AbortController();
    const fn = flaky(transient());
    const slow: RetryPolicy = { attempts: 3, baseDelayMs: 30_000, maxWaitMs: 60_000 };
    setTimeout(() => controller.abort(), 50);
    await expect(withRetry('x', fn, { logger: pino({ level: 'silent' }), policy: slow, signal: controller.signal }))
      .rejects.toBeInstanceOf(AbortedError);
    expect(fn.calls).toBe(1);
  });
});

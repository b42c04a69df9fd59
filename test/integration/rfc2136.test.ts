/**
 * The RFC 2136 provider and its TSIG signer against a real BIND and a real Knot (test/helpers/
 * bind.ts, knot-update.ts, each configured with the README's snippet): the servers' own answers
 * decide whether our signature is right (a good key is answered and the answer's MAC, which
 * covers our request MAC, verifies), and which TSIG error each wrong setting gets: wrong secret
 * BADSIG, unknown key BADKEY, a clock beyond the fudge BADTIME. Updates add and delete exactly
 * one value, so apex and wildcard sharing one name never remove each other's.
 */
import pino from 'pino';
import { Secret } from '../../src/config/secret';
import { AbortedError } from '../../src/errors';
import { Rfc2136Client, encodeSoaQuery, exchange } from '../../src/dns/rfc2136/client';
import { Rfc2136Error } from '../../src/dns/rfc2136/errors';
import { Rfc2136DnsProvider } from '../../src/dns/rfc2136/provider';
import { signRequest, verifyResponse, TsigVerifyError, type TsigAlgorithm, type TsigKey } from '../../src/dns/rfc2136/tsig';
import { bindUnavailable, startBind, type TestKey, type UpdateServer } from '../helpers/bind';
import { knotUnavailable, startKnotUpdate } from '../helpers/knot-update';
import { startHangingServer } from '../helpers/hanging-server';
import { makeTempDir, removeTempDir } from '../helpers/tmp';

const servers = [
  { kind: 'bind', start: startBind, unavailable: bindUnavailable() },
  { kind: 'knot', start: startKnotUpdate, unavailable: knotUnavailable() },
] as const;
// In CI (.ci/run installs bind9 and knot) these must run: a missing server fails them.
const runnable = servers.filter((s) => s.unavailable === undefined || process.env.CI === 'true');
for (const s of servers) if (!runnable.includes(s)) console.log(`skipping the RFC 2136 tests against ${s.kind}: ${s.unavailable}`);

const NAME = '_acme-challenge.example.test';
const logger = pino({ level: 'silent' });
let bind: UpdateServer;
let stateDir: string;

function key(k: TestKey, change: Partial<{ name: string; secret: string; algorithm: TsigAlgorithm }> = {}): TsigKey {
  return { name: change.name ?? k.name, algorithm: change.algorithm ?? (k.algorithm as TsigAlgorithm), secret: new Secret(change.secret ?? k.secret) };
}

function provider(opts: { key?: TsigKey; now?: () => number; zone?: string; stateDir?: string; signal?: AbortSignal; port?: number } = {}): Rfc2136DnsProvider {
  const k = opts.key ?? key(bind.key);
  return new Rfc2136DnsProvider({
    server: { host: '127.0.0.1', port: opts.port ?? bind.port }, keyName: k.name, algorithm: k.algorithm, secret: k.secret,
    zone: opts.zone, timeoutMs: 5000, logger, now: opts.now, stateDir: opts.stateDir, signal: opts.signal,
  });
}

/** The Rfc2136Error `promise` rejects with. */
async function refusal(promise: Promise<unknown>): Promise<Rfc2136Error> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  if (!(err instanceof Rfc2136Error)) throw new Error(`expected an Rfc2136Error, got ${String(err)}\n${bind.output()}`);
  return err;
}

/**
 * How each server refuses an update its policy does not allow: BIND answers REFUSED; Knot
 * answers NOTAUTH with TSIG error BADKEY, and the message then points at the acl too.
 */
function expectDenied(err: Rfc2136Error): void {
  if (bind.kind === 'bind') {
    expect(err.rcode).toBe('REFUSED');
    expect(err.message).toMatch(/^rfc2136: .*REFUSED.*update-policy/);
  } else {
    expect(err.tsigError).toBe('BADKEY');
    expect(err.message).toMatch(/^rfc2136: .*BADKEY.*acl does not let it change TXT records/);
  }
}

/** A key in no acl: BIND lets it query and refuses its update; Knot refuses it outright (BADKEY), before any order. */
function expectUnlistedKey(err: Rfc2136Error): void {
  if (bind.kind === 'bind') expectDenied(err);
  else expect(err.tsigError).toBe('BADKEY');
}

describe.each(runnable.map((s) => [s.kind, s.start] as const))('RFC 2136 + TSIG against %s', (_kind, start) => {
  beforeAll(async () => {
    bind = await start();
    stateDir = await makeTempDir('rfc2136-state');
  });
  afterAll(async () => {
    await bind?.stop();
    if (stateDir) await removeTempDir(stateDir);
  });

  test('a good key: the server answers the signed SOA query and its signed answer verifies', async () => {
    await expect(provider().zoneOf(NAME)).resolves.toBe('example.test');
    await expect(provider({ zone: 'example.test' }).zoneOf(NAME)).resolves.toBe('example.test');
  });

  test("the server's answer MAC covers our request MAC: a changed answer or another request MAC fails verification", async () => {
    const k = key(bind.key);
    const request = signRequest(encodeSoaQuery(4242, 'example.test'), k, Date.now());
    const answer = await exchange({ host: '127.0.0.1', port: bind.port }, request.wire, { timeoutMs: 5000 });
    expect(() => verifyResponse(answer, request, k, Date.now())).not.toThrow();
    const tampered = Buffer.from(answer);
    tampered[13]! ^= 0x20; // the question's 'e' of example.test as 'E': the MAC covers the message bytes
    const otherMac = { ...request, mac: Buffer.from(request.mac).fill(0) };
    for (const [wire, req] of [[tampered, request], [answer, otherMac]] as const) {
      let caught: unknown;
      try {
        verifyResponse(wire, req, k, Date.now());
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(TsigVerifyError);
    }
  });

  test('a wrong secret: BADSIG, naming RFC2136_TSIG_SECRET', async () => {
    const err = await refusal(provider({ key: key(bind.key, { secret: bind.readonlyKey.secret }) }).zoneOf(NAME));
    expect(err.tsigError).toBe('BADSIG');
    expect(err.message).toMatch(/^rfc2136: .*BADSIG.*RFC2136_TSIG_SECRET/);
    expect(err.message).not.toContain(bind.readonlyKey.secret);
  });

  test('an unknown key name, or the wrong algorithm: BADKEY, naming RFC2136_TSIG_KEY_NAME', async () => {
    for (const k of [key(bind.key, { name: 'no-such-key' }), key(bind.key, { algorithm: 'hmac-sha512' })]) {
      const err = await refusal(provider({ key: k }).zoneOf(NAME));
      expect(err.tsigError).toBe('BADKEY');
      expect(err.message).toMatch(/^rfc2136: .*BADKEY.*RFC2136_TSIG_KEY_NAME.*RFC2136_TSIG_ALGORITHM/);
    }
  });

  test('a clock off by more than the fudge (300 s): BADTIME with the server time; within it, accepted', async () => {
    const err = await refusal(provider({ now: () => Date.now() - 3600_000 }).zoneOf(NAME));
    expect(err.tsigError).toBe('BADTIME');
    expect(err.message).toMatch(/BADTIME/);
    expect(err.message).toMatch(/the server.s clock says 20\d\d-/);
    await expect(provider({ now: () => Date.now() - 200_000 }).zoneOf(NAME)).resolves.toBe('example.test');
  });

  test('two values at one name; deleting one leaves the other', async () => {
    const dns = provider();
    const apex = await dns.present(NAME, 'apex-value-1');
    const wildcard = await dns.present(NAME, 'wildcard-value-2');
    expect(await bind.txt(NAME)).toEqual(['apex-value-1', 'wildcard-value-2']);
    await dns.cleanup(apex);
    expect(await bind.txt(NAME)).toEqual(['wildcard-value-2']);
    await dns.cleanup(wildcard);
    await dns.cleanup(wildcard);
    expect(await bind.txt(NAME)).toEqual([]);
  });

  test('a key, or a name, the policy does not allow: refused, naming the policy to change, and nothing changes', async () => {
    const dns = provider({ key: key(bind.readonlyKey) });
    expectUnlistedKey(await refusal(dns.present(NAME, 'not-allowed')));
    expect(await bind.txt(NAME)).toEqual([]);
    expectDenied(await refusal(provider().present('www.example.test', 'v')));
  });

  test('a zone the server does not serve: NOTAUTH for an update, REFUSED for the zone lookup, each naming what to fix', async () => {
    const client = new Rfc2136Client({ server: { host: '127.0.0.1', port: bind.port }, key: key(bind.key), timeoutMs: 5000 });
    const err = await refusal(client.update('other.test', [{ op: 'add', name: '_acme-challenge.other.test', value: 'v' }], 'add'));
    expect(err.rcode).toBe('NOTAUTH');
    expect(err.message).toContain('RFC2136_SERVER');
    const wrongZone = await refusal(provider({ zone: 'other.test' }).zoneOf(NAME));
    expect(wrongZone.message).toContain('RFC2136_ZONE');
    for (const zone of [undefined, 'other.test']) {
      const notServed = await refusal(provider({ zone }).zoneOf('_acme-challenge.other.test'));
      expect(notServed.rcode).toBe('REFUSED');
      expect(notServed.message).toMatch(/^rfc2136: .*serves no zone holding .*other\.test.*RFC2136_SERVER.*RFC2136_ZONE/);
    }
  });

  test('an interrupted run: queries stop at once, but the cleanup update still deletes the value', async () => {
    const controller = new AbortController();
    const dns = provider({ signal: controller.signal });
    const record = await dns.present(NAME, 'added-before-ctrl-c');
    controller.abort();
    await expect(provider({ signal: controller.signal }).zoneOf('_acme-challenge.sub.example.test')).rejects.toBeInstanceOf(AbortedError);
    await dns.cleanup(record);
    expect(await bind.txt(NAME)).toEqual([]);
  });

  test('a crashed run: the next run sweeps the journalled value, and only it', async () => {
    const crashed = provider({ stateDir });
    await crashed.present(NAME, 'left-by-a-crash');
    await provider().present(NAME, 'someone-elses');
    expect(await bind.txt(NAME)).toEqual(['left-by-a-crash', 'someone-elses']);
    await expect(provider({ stateDir }).sweep([NAME])).resolves.toBe(1);
    expect(await bind.txt(NAME)).toEqual(['someone-elses']);
    await expect(provider({ stateDir }).sweep([NAME])).resolves.toBe(0);
    await provider().cleanup({ fqdn: NAME, value: 'someone-elses', id: '', zoneId: 'example.test' });
  });

  test('a server that never answers: bounded by RFC2136_TIMEOUT, and ended at once by the signal', async () => {
    const hanging = await startHangingServer();
    try {
      const dns = new Rfc2136DnsProvider({
        server: { host: '127.0.0.1', port: hanging.port }, keyName: 'k', algorithm: 'hmac-sha256', secret: new Secret('c2VjcmV0'),
        timeoutMs: 300, logger,
      });
      const err = await refusal(dns.zoneOf(NAME));
      expect(err.transient).toBe(true);
      expect(err.message).toContain('RFC2136_TIMEOUT');
      const controller = new AbortController();
      const started = Date.now();
      const aborted = provider({ port: hanging.port, signal: controller.signal }).zoneOf(NAME);
      setTimeout(() => controller.abort(), 100);
      await expect(aborted).rejects.toBeInstanceOf(AbortedError);
      expect(Date.now() - started).toBeLessThan(4000);
    } finally {
      await hanging.stop();
    }
  });
});

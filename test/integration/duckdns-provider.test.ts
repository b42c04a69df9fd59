/**
 * The DuckDNS provider against the loopback fake of its update endpoint (no Pebble): the token
 * travels in the URL, so every path (OK, KO, HTTP 503, a refused connection, a timeout) is driven
 * with one token and the errors and every log line (debug level) are searched for it. Also: the
 * bounded retries, one clear for the records a domain's value replaced, and a clear that still
 * runs after Ctrl-C.
 */
import { createServer } from 'node:net';
import pino from 'pino';
import { startDuckDnsFake, type DuckDnsFake } from '../fakes/duckdns-api';
import { DuckDnsProvider, DUCKDNS_ZONE } from '../../src/dns/duckdns/provider';
import { Secret } from '../../src/config/secret';
import { AbortedError, DnsProviderError, describeError } from '../../src/errors';

const TOKEN = '5e471e1a-0b5c-4d2e-9a7f-3c1d0c0ffee5';
const NAME = '_acme-challenge.home.duckdns.org';

let duck: DuckDnsFake;
const logs: string[] = [];
const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(line) });

beforeAll(async () => {
  duck = await startDuckDnsFake({ token: TOKEN, domains: ['home'] });
});

afterAll(async () => {
  await duck?.stop();
});

afterEach(() => {
  expect(logs.join('')).not.toContain(TOKEN);
  logs.length = 0;
});

function provider(over: { token?: string; baseURL?: string; timeoutMs?: number; signal?: AbortSignal } = {}) {
  return new DuckDnsProvider({
    token: new Secret(over.token ?? TOKEN), baseURL: over.baseURL ?? duck.baseURL, timeoutMs: over.timeoutMs ?? 2000,
    sequenceIntervalMs: 0, logger, signal: over.signal, retryDelayMs: 10,
  });
}

/** The error `work` fails with, checked to carry no token in its message, causes or stack. */
async function failure(work: Promise<unknown>): Promise<Error> {
  const err = (await work.then(() => undefined, (e: unknown) => e)) as Error;
  expect(err).toBeInstanceOf(Error);
  expect(`${describeError(err)}\n${err.stack}\n${JSON.stringify(err)}`).not.toContain(TOKEN);
  return err;
}

test('present replaces the domain\'s one value; the zone to ask is duckdns.org', async () => {
  const dns = provider();
  await dns.present(NAME, 'first');
  expect(duck.txt('home')).toBe('first');
  const second = await dns.present(NAME, 'second');
  expect(duck.txt('home')).toBe('second');
  expect(second).toMatchObject({ fqdn: NAME, value: 'second', id: 'home.duckdns.org' });
  expect(await dns.zoneOf(NAME)).toBe(DUCKDNS_ZONE);
  expect(dns.sequential).toEqual({ intervalMs: 0 });
});

test('cleaning up the records of one domain sends one clear, then nothing is left', async () => {
  const dns = provider();
  const a = await dns.present(NAME, 'a');
  const b = await dns.present(NAME, 'b');
  const before = duck.updates.length;
  await Promise.all([dns.cleanup(a), dns.cleanup(b)]);
  expect(duck.updates.slice(before).map((u) => [u.clear, u.answer])).toEqual([[true, 'OK']]);
  expect(duck.txt('home')).toBeUndefined();
  expect(dns.leftovers()).toEqual([]);
});

test('KO is a permanent error naming DUCKDNS_TOKEN, not retried', async () => {
  const before = duck.updates.length;
  const err = await failure(provider({ token: '00000000-1111-4222-8333-444444444444' }).sweep([NAME]));
  expect(err).toBeInstanceOf(DnsProviderError);
  expect((err as DnsProviderError).transient).toBe(false);
  expect(err.message).toMatch(/^duckdns: failed to clear the TXT record of home\.duckdns\.org: DuckDNS answered KO: DUCKDNS_TOKEN is wrong/);
  expect(duck.updates.slice(before).map((u) => u.answer)).toEqual(['KO']);
});

test('HTTP 503 is retried, three attempts in all; one success in between is enough', async () => {
  const dns = provider();
  duck.failNext(503, 2);
  const before = duck.updates.length;
  await dns.present(NAME, 'after-two-503');
  expect(duck.updates.slice(before).map((u) => u.answer)).toEqual([503, 503, 'OK']);
  duck.failNext(503, 3);
  const err = await failure(dns.present(NAME, 'never'));
  expect((err as DnsProviderError).transient).toBe(true);
  expect(err.message).toBe('duckdns: failed to set the TXT record of home.duckdns.org: HTTP 503: DuckDNS is busy or failing; nrcert will try again later');
  expect(logs.filter((l) => l.includes('retrying'))).toHaveLength(4);
});

test('a refused connection and a timeout are transient errors that name the host and not the URL', async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as { port: number }).port;
  await new Promise((resolve) => closed.close(resolve));
  const refused = await failure(provider({ baseURL: `http://127.0.0.1:${port}` }).present(NAME, 'x'));
  expect(refused.message).toBe(`duckdns: failed to set the TXT record of home.duckdns.org: cannot reach http://127.0.0.1:${port} (ECONNREFUSED); check the network and try again`);
  duck.failNext(0, 3);
  const slow = await failure(provider({ timeoutMs: 200 }).present(NAME, 'x'));
  expect(slow.message).toBe(`duckdns: failed to set the TXT record of home.duckdns.org: ${duck.baseURL} did not answer within 0.2 s (DUCKDNS_TIMEOUT raises it)`);
  expect((slow as DnsProviderError).transient).toBe(true);
});

test('after Ctrl-C, present stops at once but the clear still goes out', async () => {
  const controller = new AbortController();
  const dns = provider({ signal: controller.signal });
  const record = await dns.present(NAME, 'before-ctrl-c');
  controller.abort();
  expect(await failure(dns.present(NAME, 'after'))).toBeInstanceOf(AbortedError);
  await dns.cleanup(record);
  expect(duck.updates.at(-1)).toMatchObject({ clear: true, answer: 'OK' });
  expect(duck.txt('home')).toBeUndefined();
});

test('a clear that fails leaves the name in leftovers()', async () => {
  const dns = provider();
  const record = await dns.present(NAME, 'stuck');
  duck.failNext(503, 3);
  await failure(dns.cleanup(record));
  expect(dns.leftovers()).toEqual([{ name: NAME }]);
});

/**
 * DNS_PROVIDER=duckdns settings, read the way `nrcert renew` reads them: the token (inline or in
 * a file, a UUID, never echoed), DUCKDNS_BASE_URL, the timeouts, and DOMAINS limited to what
 * DuckDNS can validate, every problem reported at once before anything is asked of DuckDNS.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../src/config/config';
import type { DuckDnsSettings } from '../../src/dns/duckdns/config';
import { duckDnsSubdomain } from '../../src/dns/duckdns/config';
import { ConfigError } from '../../src/errors';

const TOKEN = '5e471e1a-0b5c-4d2e-9a7f-3c1d0c0ffee5';

let dir: string;
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'nrcert-duckdns-')); });
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function load(env: Record<string, string>): Config {
  return loadConfig({ env: { DNS_PROVIDER: 'duckdns', DOMAINS: 'home.duckdns.org,*.home.duckdns.org', ...env }, home: dir, cwd: dir }, 'renew');
}

function problems(env: Record<string, string>): string[] {
  try {
    load(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('no ConfigError');
}

test('a token and DuckDNS names: the settings, with DuckDNS\'s own URL and lego\'s 60 s pause', () => {
  const settings = load({ DUCKDNS_TOKEN: TOKEN }).dns.settings as DuckDnsSettings;
  expect(settings.token?.reveal()).toBe(TOKEN);
  expect(settings).toMatchObject({ baseURL: 'https://www.duckdns.org', timeoutMs: 30_000, sequenceIntervalMs: 60_000 });
});

test('the token from DUCKDNS_TOKEN_FILE; DUCKDNS_BASE_URL, DUCKDNS_TIMEOUT and DUCKDNS_SEQUENCE_INTERVAL=0 taken', () => {
  writeFileSync(join(dir, 'duck-token'), `${TOKEN}\n`);
  const settings = load({ DUCKDNS_TOKEN_FILE: 'duck-token', DUCKDNS_BASE_URL: 'http://127.0.0.1:8080/', DUCKDNS_TIMEOUT: '5', DUCKDNS_SEQUENCE_INTERVAL: '0' }).dns.settings as DuckDnsSettings;
  expect(settings.token?.reveal()).toBe(TOKEN);
  expect(settings).toMatchObject({ baseURL: 'http://127.0.0.1:8080', timeoutMs: 5000, sequenceIntervalMs: 0 });
});

test('no token, a token that is not a UUID (not echoed), a bad URL: all reported at once', () => {
  expect(problems({})).toEqual([expect.stringMatching(/^DUCKDNS_TOKEN is not set: copy the token shown at the top of https:\/\/www\.duckdns\.org/)]);
  const found = problems({ DUCKDNS_TOKEN: 'not-a-uuid-SECRET', DUCKDNS_BASE_URL: 'ftp://x', DUCKDNS_TIMEOUT: '0.5' });
  expect(found).toEqual([
    expect.stringMatching(/^DUCKDNS_TOKEN is not a DuckDNS token \(a UUID/),
    expect.stringMatching(/^DUCKDNS_BASE_URL: "ftp:\/\/x" is not an http or https URL/),
    expect.stringMatching(/^DUCKDNS_TIMEOUT: "0.5" is shorter than 1 second/),
  ]);
  expect(found.join('\n')).not.toContain('SECRET');
});

test.each([
  ['example.com,*.example.com', ['example.com', '*.example.com']],
  ['home.duckdns.org,nodered.home.duckdns.org', ['nodered.home.duckdns.org']],
  ['duckdns.org', ['duckdns.org']],
  ['home.duckdns.org.evil.test', ['home.duckdns.org.evil.test']],
])('DOMAINS=%s: each name DuckDNS cannot validate is a configuration problem', (domains, refused) => {
  expect(problems({ DUCKDNS_TOKEN: TOKEN, DOMAINS: domains })).toEqual(refused.map((n) => expect.stringContaining(`DOMAINS: "${n}" is not a DuckDNS name`)));
});

test('several DuckDNS domains of one account are fine', () => {
  expect(load({ DUCKDNS_TOKEN: TOKEN, DOMAINS: 'home.duckdns.org,*.home.duckdns.org,cabin.duckdns.org' }).domains).toHaveLength(3);
});

test('the DuckDNS domain of a challenge name (lego\'s getMainDomain: the third label from the right)', () => {
  expect(duckDnsSubdomain('_acme-challenge.home.duckdns.org')).toBe('home');
  expect(duckDnsSubdomain('HOME.DuckDNS.org.')).toBe('home');
  expect(duckDnsSubdomain('duckdns.org')).toBeUndefined();
  expect(duckDnsSubdomain('_acme-challenge.example.com')).toBeUndefined();
});

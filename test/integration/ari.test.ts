/**
 * ARI and profiles against a real Pebble, through the ARI proxy (Debian's Pebble 2.4 has
 * neither): obtainCertificate sends `replaces` and `profile` on newOrder, falls back once when
 * the CA refuses `replaces`, refuses a profile the CA does not advertise; fetchRenewalInfo and
 * refreshRenewalInfo read the window the test set.
 */
import 'reflect-metadata';
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Agent } from 'node:https';
import { Writable } from 'node:stream';
import * as acme from 'acme-client';
import pino from 'pino';
import * as x509 from '@peculiar/x509';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import { certificateId, fetchRenewalInfo } from '../../src/acme/ari';
import { refreshRenewalInfo } from '../../src/renewal/ari-state';
import { installAcmeHttpGuards } from '../../src/acme/http';
import { obtainCertificate } from '../../src/acme/order';
import { Secret } from '../../src/config/secret';
import { CloudflareDnsProvider } from '../../src/dns/cloudflare/provider';
import { AcmeError } from '../../src/errors';
import type { CertificateSet } from '../../src/store/types';
import { startAriProxy, type AriProxy } from '../fakes/ari-proxy';
import { startCloudflareFake, type CloudflareFake } from '../fakes/cloudflare-api';
import { startPebble, type PebbleEnv } from '../helpers/pebble';

const TOKEN = 'sentinel-ari-token-never-logged';
const NAMES = ['example.test', '*.example.test'];
const PROFILES = { tlsserver: 'https://example.test/docs/tlsserver', shortlived: 'https://example.test/docs/shortlived' };
const HOUR = 3600_000;

let pebble: PebbleEnv;
let proxy: AriProxy;
let fake: CloudflareFake;
let ca: string;
let client: acme.Client;
const logLines: string[] = [];
const logger = pino({ level: 'info' }, new Writable({ write: (chunk, _enc, done) => (logLines.push(String(chunk)), done()) }));

beforeAll(async () => {
  pebble = await startPebble();
  proxy = await startAriProxy(pebble, { profiles: PROFILES });
  ca = await readFile(pebble.caCertPath, 'utf8');
  fake = await startCloudflareFake({ zones: [{ name: 'example.test' }], tokens: { [TOKEN]: {} }, challtestsrvManagementUrl: pebble.challtestsrvUrl });
  installAcmeHttpGuards(acme);
  acme.axios.defaults.httpsAgent = new Agent({ ca });
  client = new acme.Client({ directoryUrl: proxy.directoryUrl, accountKey: await acme.crypto.createPrivateEcdsaKey(), backoffMin: 100, backoffMax: 1000 });
  await client.createAccount({ termsOfServiceAgreed: true });
});

afterAll(async () => {
  await proxy?.stop();
  await fake?.stop();
  await pebble?.stop();
});

function obtain(extra: { replaces?: string; profile?: string }): Promise<CertificateSet> {
  const dns = new CloudflareDnsProvider({ apiToken: new Secret(TOKEN), baseURL: fake.baseURL, logger });
  return obtainCertificate({
    client, names: NAMES, keyType: 'ecdsa-p256', dns, logger,
    resolvers: [pebble.dnsResolver], propagationTimeoutMs: 10_000, ...extra,
  });
}

let first: CertificateSet;

test('an order through the proxy carries the profile, and every URL Pebble hands out points at the proxy', async () => {
  first = await obtain({ profile: 'tlsserver' });
  expect(new X509Certificate(first.cert).subjectAltName).toContain('DNS:*.example.test');
  expect(proxy.newOrders).toHaveLength(1);
  expect(proxy.newOrders[0]).toEqual({ identifiers: NAMES.map((value) => ({ type: 'dns', value })), profile: 'tlsserver' });
  expect(client.getAccountUrl().startsWith(new URL(proxy.directoryUrl).origin)).toBe(true);
  expect(logLines.some((l) => l.includes(new URL(proxy.directoryUrl).origin) && l.includes('ACME order created'))).toBe(true);
});

test('fetchRenewalInfo through the proxy returns the window the test set, for this certificate\'s id', async () => {
  const now = new Date();
  const window = { start: new Date(now.getTime() + 24 * HOUR), end: new Date(now.getTime() + 48 * HOUR) };
  const certId = certificateId(first.cert);
  // The id of a real Pebble certificate, as a full ASN.1 parser reads it.
  const parsed = new x509.X509Certificate(first.cert);
  const keyId = Buffer.from(parsed.getExtension(x509.AuthorityKeyIdentifierExtension)!.keyId!, 'hex');
  const serial = Buffer.from(AsnConvert.parse(parsed.rawData, Certificate).tbsCertificate.serialNumber);
  expect(certId).toBe(`${keyId.toString('base64url')}.${serial.toString('base64url')}`);
  proxy.setWindow(certId, window, 3600, 'https://example.test/incident');
  const result = await fetchRenewalInfo(proxy.directoryUrl, certificateId(first.cert), { now, ca });
  expect(result).toEqual({ ok: true, info: { certId, window, explanationURL: 'https://example.test/incident', retryAfter: new Date(now.getTime() + HOUR) } });
  expect(proxy.renewalInfoRequests.at(-1)).toBe(certId);
});

test('refreshRenewalInfo keeps the chosen time and does not ask again before Retry-After', async () => {
  const now = new Date();
  const asked = proxy.renewalInfoRequests.length;
  const { state } = await refreshRenewalInfo({ directoryUrl: proxy.directoryUrl, certId: certificateId(first.cert), now, ca, random: () => 0.5 });
  expect(state).toMatchObject({ certId: certificateId(first.cert), retryAfter: new Date(now.getTime() + HOUR).toISOString() });
  const again = await refreshRenewalInfo({ directoryUrl: proxy.directoryUrl, certId: certificateId(first.cert), previous: state, now: new Date(now.getTime() + HOUR / 2), ca });
  expect(again).toMatchObject({ state, fetched: false });
  expect(proxy.renewalInfoRequests.length).toBe(asked + 1);
});

test('a renewal sends replaces (the old certificate\'s id) and the profile on newOrder', async () => {
  const certId = certificateId(first.cert);
  const second = await obtain({ replaces: certId, profile: 'shortlived' });
  expect(certificateId(second.cert)).not.toBe(certId);
  expect(proxy.newOrders.at(-1)).toMatchObject({ replaces: certId, profile: 'shortlived' });
});

test('when the CA refuses replaces (alreadyReplaced), the order is placed once more without it, with a warning', async () => {
  const certId = certificateId(first.cert);
  proxy.refuseNextReplaces();
  const before = proxy.newOrders.length;
  const third = await obtain({ replaces: certId });
  expect(new X509Certificate(third.cert).subjectAltName).toContain('DNS:example.test');
  const orders = proxy.newOrders.slice(before);
  expect(orders.map((o) => o.replaces)).toEqual([certId, undefined]);
  expect(logLines.some((l) => l.includes('"level":40') && l.includes('ordering without \\"replaces\\"'))).toBe(true);
});

test('a profile the CA does not advertise stops before any order, naming what it offers', async () => {
  const before = proxy.newOrders.length;
  const err = await obtain({ profile: 'classic' }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(AcmeError);
  expect((err as AcmeError).exitCode).toBe(7);
  expect((err as Error).message).toMatch(/ACME_PROFILE.*"classic".*offers tlsserver \(.*\), shortlived/);

  proxy.setProfiles(null);
  try {
    // acme-client caches the directory for a day: a fresh client sees the change.
    const fresh = new acme.Client({ directoryUrl: proxy.directoryUrl, accountKey: await acme.crypto.createPrivateEcdsaKey(), accountUrl: 'unused' });
    const dns = new CloudflareDnsProvider({ apiToken: new Secret(TOKEN), baseURL: fake.baseURL, logger });
    const none = await obtainCertificate({ client: fresh, names: NAMES, keyType: 'ecdsa-p256', dns, logger, propagationTimeoutMs: 1000, profile: 'tlsserver' }).catch((e: unknown) => e);
    expect(none).toBeInstanceOf(AcmeError);
    expect((none as Error).message).toMatch(/advertises no certificate profiles; leave ACME_PROFILE empty/);
  } finally {
    proxy.setProfiles(PROFILES);
  }
  expect(proxy.newOrders.length).toBe(before);
});

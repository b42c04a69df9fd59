/**
 * ARI (RFC 9773) without Pebble: the certificate id against the RFC's own example and against
 * @peculiar/x509 (a full ASN.1 parser), and fetchRenewalInfo against a loopback HTTPS server.
 */
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import * as asn1X509 from '@peculiar/asn1-x509';
import {
  certificateId, chooseRenewalTime, fetchRenewalInfo, pickRenewalTime, renewalInfoRetryAfter,
} from '../../src/acme/ari';
import { refreshRenewalInfo, type AriState } from '../../src/renewal/ari-state';
import { AcmeError } from '../../src/errors';
import { makeTempDir, removeTempDir } from '../helpers/tmp';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const HOUR = 3600_000;
const NOW = new Date('2026-05-01T12:00:00Z');

/** RFC 9773 Appendix A: AKI 69:88:5B:…:D4, serial 0x0087654321. */
const RFC_EXAMPLE = `-----BEGIN CERTIFICATE-----
MIIBQzCB66ADAgECAgUAh2VDITAKBggqhkjOPQQDAjAVMRMwEQYDVQQDEwpFeGFt
cGxlIENBMCIYDzAwMDEwMTAxMDAwMDAwWhgPMDAwMTAxMDEwMDAwMDBaMBYxFDAS
BgNVBAMTC2V4YW1wbGUuY29tMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEeBZu
7cbpAYNXZLbbh8rNIzuOoqOOtmxA1v7cRm//AwyMwWxyHz4zfwmBhcSrf47NUAFf
qzLQ2PPQxdTXREYEnKMjMCEwHwYDVR0jBBgwFoAUaYhba4dGQEHhs3uEe6CuLN4B
yNQwCgYIKoZIzj0EAwIDRwAwRAIge09+S5TZAlw5tgtiVvuERV6cT4mfutXIlwTb
+FYN/8oCIClDsqBklhB9KAelFiYt9+6FDj3z4KGVelYM5MdsO3pK
-----END CERTIFICATE-----
`;

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const RSA = { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };

async function makeCert(opts: { serial: string; aki?: 'key' | 'key+issuer' | 'issuer-only' | 'none'; rsa?: boolean }): Promise<x509.X509Certificate> {
  const alg = opts.rsa ? RSA : EC;
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const issuerKeys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'example.test' }, { type: 'dns', value: '*.example.test' }]),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  const keyId = new Uint8Array(await webcrypto.subtle.digest('SHA-1', await webcrypto.subtle.exportKey('spki', issuerKeys.publicKey)));
  const issuerName = [new asn1X509.GeneralName({ directoryName: AsnConvert.parse(new x509.Name('CN=Test Root').toArrayBuffer(), asn1X509.Name) })];
  const akiValue = {
    key: new asn1X509.AuthorityKeyIdentifier({ keyIdentifier: new OctetString(keyId) }),
    'key+issuer': new asn1X509.AuthorityKeyIdentifier({ keyIdentifier: new OctetString(keyId), authorityCertIssuer: issuerName, authorityCertSerialNumber: new Uint8Array([0x42]).buffer }),
    'issuer-only': new asn1X509.AuthorityKeyIdentifier({ authorityCertIssuer: issuerName, authorityCertSerialNumber: new Uint8Array([0x42]).buffer }),
    none: undefined,
  }[opts.aki ?? 'key'];
  if (akiValue) extensions.push(new x509.Extension('2.5.29.35', false, AsnConvert.serialize(akiValue)));
  return x509.X509CertificateGenerator.create({
    serialNumber: opts.serial, subject: 'CN=example.test', issuer: 'CN=Test Issuer',
    notBefore: new Date('2026-01-01T00:00:00Z'), notAfter: new Date('2026-04-01T00:00:00Z'),
    publicKey: keys.publicKey, signingKey: issuerKeys.privateKey, signingAlgorithm: EC, extensions,
  });
}

/** The id computed with @peculiar/x509: AKI keyId from the extension, serial from the parsed TBSCertificate. */
function peculiarId(cert: x509.X509Certificate): string {
  const keyId = cert.getExtension(x509.AuthorityKeyIdentifierExtension)!.keyId!;
  const serial = AsnConvert.parse(cert.rawData, asn1X509.Certificate).tbsCertificate.serialNumber;
  return `${Buffer.from(keyId, 'hex').toString('base64url')}.${Buffer.from(serial).toString('base64url')}`;
}

describe('certificateId', () => {
  it('gives the RFC 9773 example its documented id', () => {
    expect(certificateId(RFC_EXAMPLE)).toBe('aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE');
  });

  it.each([
    ['a serial with its high bit set (DER adds a 0x00)', { serial: '80a1b2' }],
    ['a one-byte serial', { serial: '01' }],
    ['a 20-byte serial like Let\'s Encrypt\'s', { serial: '05' + 'c3'.repeat(19) }],
    ['an RSA key (long-form DER lengths)', { serial: '7f00ff', rsa: true }],
    ['an AKI that also names the issuer and its serial', { serial: 'ff', aki: 'key+issuer' as const }],
  ])('matches @peculiar/x509 for %s', async (_label, opts) => {
    const cert = await makeCert(opts);
    expect(certificateId(cert.toString('pem'))).toBe(peculiarId(cert));
  });

  it('keeps the leading 0x00 of the serial, as the RFC requires', async () => {
    const cert = await makeCert({ serial: '80a1b2' });
    expect(certificateId(cert.toString('pem')).split('.')[1]).toBe(Buffer.from([0x00, 0x80, 0xa1, 0xb2]).toString('base64url'));
  });

  it('names the first certificate of a full chain', async () => {
    const leaf = await makeCert({ serial: '0a0b' });
    const other = await makeCert({ serial: '0c0d' });
    expect(certificateId(`${leaf.toString('pem')}\n${other.toString('pem')}\n`)).toBe(peculiarId(leaf));
  });

  it.each([['none'], ['issuer-only']] as const)('refuses a certificate whose AKI has no keyIdentifier (%s)', async (aki) => {
    const cert = await makeCert({ serial: '01', aki });
    expect(() => certificateId(cert.toString('pem'))).toThrow(AcmeError);
    expect(() => certificateId(cert.toString('pem'))).toThrow(/no Authority Key Identifier/);
  });

  it('refuses text that is not a certificate with an AcmeError', () => {
    expect(() => certificateId('-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n')).toThrow(AcmeError);
  });
});

describe('choosing the renewal time', () => {
  const window = { start: new Date('2026-05-10T00:00:00Z'), end: new Date('2026-05-12T00:00:00Z') };

  it('picks uniformly inside the window', () => {
    expect(pickRenewalTime(window, () => 0)).toEqual(window.start);
    expect(pickRenewalTime(window, () => 0.5)).toEqual(new Date('2026-05-11T00:00:00Z'));
    expect(pickRenewalTime(window, () => 0.999999).getTime()).toBeLessThan(window.end.getTime());
  });

  it('keeps the earlier choice while the window stays put, and chooses again when it moves', () => {
    const chosenAt = new Date('2026-05-11T06:00:00Z');
    expect(chooseRenewalTime(window, { window: { ...window }, chosenAt }, () => 0)).toEqual(chosenAt);
    const moved = { start: new Date('2026-05-02T00:00:00Z'), end: new Date('2026-05-03T00:00:00Z') };
    expect(chooseRenewalTime(moved, { window, chosenAt }, () => 0)).toEqual(moved.start);
    expect(chooseRenewalTime(window, null, () => 0.25)).toEqual(new Date('2026-05-10T12:00:00Z'));
  });
});

describe('renewalInfoRetryAfter', () => {
  it.each([
    ['seconds', '3600', HOUR],
    ['an HTTP date', new Date(NOW.getTime() + 2 * HOUR).toUTCString(), 2 * HOUR],
    ['nothing: six hours', undefined, 6 * HOUR],
    ['garbage: six hours', 'soon', 6 * HOUR],
    ['0: at least a minute', '0', 60_000],
    ['a date in the past: at least a minute', new Date(NOW.getTime() - HOUR).toUTCString(), 60_000],
    ['a week: at most a day', String(7 * 24 * 3600), 24 * HOUR],
  ])('reads %s', (_label, header, ms) => {
    expect(renewalInfoRetryAfter(header, NOW)).toEqual(new Date(NOW.getTime() + ms));
  });
});

/** A loopback HTTPS server answering a directory and renewalInfo the way the test says. */
interface Answer {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

describe('fetchRenewalInfo', () => {
  let dir: string;
  let ca: string;
  let server: Server;
  let base: string;
  let directory: Answer;
  let renewal: Answer | 'hang';
  const seen: string[] = [];
  let cert: string;

  beforeAll(async () => {
    dir = await makeTempDir('ari-unit');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    ca = readFileSync(join(dir, 'cert.pem'), 'utf8');
    server = createServer({ key: readFileSync(join(dir, 'key.pem')), cert: ca }, (req, res) => {
      seen.push(req.url ?? '');
      const answer = req.url === '/dir' ? directory : renewal;
      if (answer === 'hang') return;
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(answer.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    cert = (await makeCert({ serial: '80a1b2' })).toString('pem');
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await removeTempDir(dir);
  });
  beforeEach(() => {
    seen.length = 0;
    directory = { status: 200, body: JSON.stringify({ newOrder: `${base}/new-order`, renewalInfo: `${base}/renewal-info/` }) };
    renewal = { status: 200, body: JSON.stringify({ suggestedWindow: { start: '2026-05-10T00:00:00Z', end: '2026-05-12T00:00:00Z' } }), headers: { 'retry-after': '7200' } };
  });

  const fetch = (extra: { timeoutMs?: number } = {}) => fetchRenewalInfo(`${base}/dir`, certificateId(cert), { now: NOW, ca, ...extra });

  it('returns the window, the Retry-After and the certificate id, asking at <renewalInfo>/<certId>', async () => {
    renewal = { ...(renewal as Answer), body: JSON.stringify({ ...JSON.parse((renewal as Answer).body), explanationURL: 'https://ca.example/why' }) };
    const certId = certificateId(cert);
    expect(await fetch()).toEqual({
      ok: true,
      info: {
        certId,
        window: { start: new Date('2026-05-10T00:00:00Z'), end: new Date('2026-05-12T00:00:00Z') },
        explanationURL: 'https://ca.example/why',
        retryAfter: new Date(NOW.getTime() + 2 * HOUR),
      },
    });
    expect(seen).toEqual(['/dir', `/renewal-info/${certId}`]);
  });

  it('clamps Retry-After and defaults it to six hours', async () => {
    renewal = { ...(renewal as Answer), headers: { 'retry-after': '5' } };
    expect(await fetch()).toMatchObject({ info: { retryAfter: new Date(NOW.getTime() + 60_000) } });
    renewal = { ...(renewal as Answer), headers: {} };
    expect(await fetch()).toMatchObject({ info: { retryAfter: new Date(NOW.getTime() + 6 * HOUR) } });
  });

  it('says so, without asking further, when the directory has no renewalInfo', async () => {
    directory = { status: 200, body: JSON.stringify({ newOrder: `${base}/new-order` }) };
    expect(await fetch()).toEqual({ ok: false, unsupported: true, reason: 'the ACME server offers no renewal information (ARI)' });
    expect(seen).toEqual(['/dir']);
  });

  it.each([
    ['a server error', { status: 503, body: '{"type":"urn:ietf:params:acme:error:serverInternal"}' }, /HTTP 503/],
    ['an unknown certificate', { status: 404, body: '{}' }, /HTTP 404/],
    ['a body that is not JSON', { status: 200, body: '<html>' }, /no valid suggestedWindow/],
    ['a window that ends before it starts', { status: 200, body: JSON.stringify({ suggestedWindow: { start: '2026-05-12T00:00:00Z', end: '2026-05-10T00:00:00Z' } }) }, /no valid suggestedWindow/],
  ])('answers %s with an advisory failure, never a throw', async (_label, answer, reason) => {
    renewal = answer;
    const result = await fetch();
    expect(result).toMatchObject({ ok: false, unsupported: false });
    expect(!result.ok && result.reason).toMatch(reason);
  });

  it('gives up on a server that does not answer within timeoutMs', async () => {
    renewal = 'hang';
    const started = Date.now();
    const result = await fetch({ timeoutMs: 300 });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(!result.ok && result.reason).toMatch(/cannot fetch its renewal information: timed out/);
  });

  it('reports an unreachable directory as an advisory failure', async () => {
    const result = await fetchRenewalInfo('https://127.0.0.1:9/dir', certificateId(cert), { now: NOW, ca });
    expect(result).toEqual({ ok: false, unsupported: false, reason: 'cannot fetch the ACME directory: ECONNREFUSED' });
  });

  it('refreshRenewalInfo reuses the saved window until Retry-After, then asks again and keeps the chosen time', async () => {
    const first = await refreshRenewalInfo({ directoryUrl: `${base}/dir`, certId: certificateId(cert), now: NOW, ca, random: () => 0.5 });
    expect(first).toMatchObject({ fetched: true, state: { certId: certificateId(cert), chosenAt: '2026-05-11T00:00:00.000Z', retryAfter: '2026-05-01T14:00:00.000Z' } });
    const state = first.state as AriState;

    seen.length = 0;
    const early = await refreshRenewalInfo({ directoryUrl: `${base}/dir`, certId: certificateId(cert), previous: state, now: new Date(NOW.getTime() + HOUR), ca });
    expect(early).toMatchObject({ fetched: false, state });
    expect(seen).toEqual([]);

    const later = new Date(NOW.getTime() + 3 * HOUR);
    const refreshed = await refreshRenewalInfo({ directoryUrl: `${base}/dir`, certId: certificateId(cert), previous: state, now: later, ca, random: () => 0 });
    expect(refreshed).toMatchObject({ fetched: true, state: { chosenAt: state.chosenAt, retryAfter: new Date(later.getTime() + 2 * HOUR).toISOString() } });

    renewal = { status: 500, body: '{}' };
    const failed = await refreshRenewalInfo({ directoryUrl: `${base}/dir`, certId: certificateId(cert), previous: refreshed.state, now: new Date(later.getTime() + 3 * HOUR), ca });
    expect(failed).toMatchObject({ fetched: false, state: refreshed.state, reason: expect.stringMatching(/HTTP 500.*keeping the window fetched earlier/) });
  });

  it('refreshRenewalInfo ignores a saved state about another certificate', async () => {
    const other: AriState = { certId: 'AAAA.AQ', window: { start: '2026-05-02T00:00:00Z', end: '2026-05-03T00:00:00Z' }, chosenAt: '2026-05-02T01:00:00Z', retryAfter: '2027-01-01T00:00:00Z' };
    const result = await refreshRenewalInfo({ directoryUrl: `${base}/dir`, certId: certificateId(cert), previous: other, now: NOW, ca, random: () => 0 });
    expect(result).toMatchObject({ fetched: true, state: { certId: certificateId(cert), chosenAt: '2026-05-10T00:00:00.000Z' } });
  });
});

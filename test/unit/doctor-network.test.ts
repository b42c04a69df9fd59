/**
 * nrcert doctor's network checks against real loopback servers: a tiny DNS server (answers
 * NXDOMAIN, or REFUSED), an HTTPS ACME directory whose Date header is compared with a shifted
 * local clock, and a TLS server standing in for Node-RED.
 */
import { execFileSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Config } from '../../src/config/config';
import { checkDns } from '../../src/doctor/checks/dns';
import { checkAcmeAndClock } from '../../src/doctor/checks/clock';
import { checkNodeRed } from '../../src/doctor/checks/nodered';
import { readInstalled } from '../../src/doctor/installed';
import { FileCertStore } from '../../src/store/cert-dir';
import { testConfig } from '../helpers/config';
import { TestPki, makeTempDir, removeTempDir } from './store/pki';

let tmp: string;
beforeAll(() => {
  tmp = makeTempDir('nrcert-doctor-net-');
});
afterAll(() => removeTempDir(tmp));

/** The test's Config: CERT_DIR and STATE_DIR under this test's temp dir. */
const config = (env: Record<string, string> = {}): Config => testConfig(tmp, env);

/** A DNS server on a loopback UDP port answering every query with `rcode` and no records (3 = NXDOMAIN, 5 = REFUSED). */
async function dnsServer(rcode: number): Promise<{ port: number; socket: Socket }> {
  const socket = createSocket('udp4');
  socket.on('message', (msg, from) => {
    const reply = Buffer.from(msg);
    reply[2] = 0x84 | (msg[2] & 0x01); // QR, AA, RD copied
    reply[3] = rcode;
    reply.writeUInt16BE(0, 6); // no answers, authority or additional records
    reply.writeUInt16BE(0, 8);
    reply.writeUInt16BE(0, 10);
    socket.send(reply.subarray(0, questionEnd(msg)), from.port, from.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { port: socket.address().port, socket };
}

/** Where the (single) question of a DNS message ends. */
function questionEnd(msg: Buffer): number {
  let i = 12;
  while (msg[i] !== 0) i += msg[i] + 1;
  return i + 5;
}

describe('DNS resolvers', () => {
  let nx: { port: number; socket: Socket };
  let refusing: { port: number; socket: Socket };
  /** A bound UDP port that reads every query and never answers (held by this test, so no one else's). */
  let silent: Socket;
  beforeAll(async () => {
    nx = await dnsServer(3);
    refusing = await dnsServer(5);
    silent = createSocket('udp4');
    silent.on('message', () => undefined);
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
  });
  afterAll(() => {
    nx.socket.close();
    refusing.socket.close();
    silent.close();
  });

  it('counts an NXDOMAIN answer as reachable', async () => {
    const r = await checkDns(config({ DNS_RESOLVERS: `127.0.0.1:${nx.port}` }));
    expect(r).toMatchObject({ id: 'dns', status: 'ok', message: `1 server (DNS_RESOLVERS) answers DNS queries: 127.0.0.1:${nx.port}` });
  });

  it('fails naming each resolver that refuses or does not answer, with a fix', async () => {
    const quiet = `127.0.0.1:${silent.address().port}`;
    const r = await checkDns(config({ DNS_RESOLVERS: `127.0.0.1:${nx.port},127.0.0.1:${refusing.port},${quiet}` }), { timeoutMs: 500 });
    expect(r.status).toBe('fail');
    expect(r.message).toContain(`2 of 3 servers (DNS_RESOLVERS) did not answer a query for _acme-challenge.example.test`);
    expect(r.message).toContain(`127.0.0.1:${refusing.port} (EREFUSED)`);
    expect(r.message).toMatch(new RegExp(`${quiet} \\((ECONNREFUSED|ETIMEOUT)\\)`));
    expect(r.fix).toMatch(/^fix DNS_RESOLVERS/);
  });

  it('without DNS_RESOLVERS, finds the zone by walking up and asks its nameservers', async () => {
    const asked: string[] = [];
    const resolveNs = async (name: string) => {
      asked.push(name);
      if (name === 'example.test') return ['ns1.example.test'];
      throw Object.assign(new Error('no'), { code: name === 'pi.home.example.test' ? 'ENODATA' : 'ENOTFOUND' });
    };
    const nameservers = async (zone: string) => [{ address: '127.0.0.1', port: nx.port, label: `ns1.${zone} (127.0.0.1)` }];
    const r = await checkDns(config({ DOMAINS: 'pi.home.example.test,*.pi.home.example.test' }), { resolveNs, nameservers });
    expect(asked).toEqual(['pi.home.example.test', 'home.example.test', 'example.test']);
    expect(r).toMatchObject({ status: 'ok', message: '1 server (the nameservers of example.test) answers DNS queries: ns1.example.test (127.0.0.1)' });
    const broken = await checkDns(config({}), { resolveNs: async () => { throw Object.assign(new Error('t'), { code: 'ETIMEOUT' }); }, nameservers });
    expect(broken).toMatchObject({ status: 'fail', message: expect.stringContaining('(ETIMEOUT)'), fix: expect.stringContaining('DNS_RESOLVERS') });
  });
});

/** A self-signed certificate for 127.0.0.1, made with openssl. */
function loopbackCert(dir: string): { key: string; cert: string } {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'lo.key'), '-out', join(dir, 'lo.pem')], { stdio: 'pipe' });
  return { key: readFileSync(join(dir, 'lo.key'), 'utf8'), cert: readFileSync(join(dir, 'lo.pem'), 'utf8') };
}

describe('ACME directory and clock', () => {
  let server: HttpsServer;
  let base: string;
  let ca: string;
  beforeAll(async () => {
    const tls = loopbackCert(tmp);
    ca = tls.cert;
    server = createHttpsServer(tls, (req, res) => {
      if (req.url === '/dir') res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ newOrder: 'https://x/new-order' }));
      else res.writeHead(404).end('not here');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const run = (path: string, shiftMs: number, trust = true) =>
    checkAcmeAndClock(config({ ACME_DIRECTORY: `${base}${path}` }), { now: () => new Date(Date.now() + shiftMs), ca: trust ? ca : undefined, timeoutMs: 2000 });

  it('is ok when the directory answers and the clocks agree', async () => {
    const [acme, clock] = await run('/dir', 0);
    expect(acme).toMatchObject({ id: 'acme', status: 'ok' });
    expect(clock).toMatchObject({ id: 'clock', status: 'ok', message: expect.stringContaining('agrees with the ACME server') });
  });

  it('warns from 30 s of skew and fails beyond 5 minutes, with the NTP fix', async () => {
    expect((await run('/dir', 3 * 60_000))[1]).toMatchObject({ status: 'warn', message: expect.stringContaining('3 min ahead of') });
    const [, late] = await run('/dir', -10 * 60_000);
    expect(late).toMatchObject({ status: 'fail', message: expect.stringContaining('10 min behind'), fix: expect.stringContaining('timedatectl set-ntp true') });
  });

  it('fails a URL that is no ACME directory, an untrusted server and an unreachable one', async () => {
    expect((await run('/nope', 0))[0]).toMatchObject({ status: 'fail', message: expect.stringContaining('answered HTTP 404 without an ACME directory') });
    expect((await run('/dir', 0, false))[0]).toMatchObject({ status: 'fail', fix: expect.stringContaining('NODE_EXTRA_CA_CERTS') });
    const down = await checkAcmeAndClock(config({ ACME_DIRECTORY: 'https://127.0.0.1:9/dir' }), { timeoutMs: 2000 });
    expect(down.map((r) => r.status)).toEqual(['fail', 'skip']);
    expect(down[0].message).toContain('(ECONNREFUSED)');
  });
});

describe('Node-RED serving the certificate', () => {
  let pki: TestPki;
  let server: TlsServer;
  let url: string;
  let certDir: string;
  beforeAll(async () => {
    pki = new TestPki();
    certDir = join(tmp, 'nr-certs');
    const installed = pki.issueLeaf();
    await new FileCertStore(certDir).install(installed);
    server = createTlsServer({ key: installed.privkey, cert: installed.fullchain });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    pki.cleanup();
  });
  const check = async (env: Record<string, string>) => checkNodeRed(config({ CERT_DIR: certDir, ...env }), await readInstalled(certDir), 2000);

  it('skips with a hint when NODE_RED_URL is not set', async () => {
    expect(await check({})).toMatchObject({ status: 'skip', fix: expect.stringContaining('set NODE_RED_URL') });
  });

  it('is ok when the installed certificate is served, and fails when another one is', async () => {
    expect(await check({ NODE_RED_URL: url })).toMatchObject({ status: 'ok', message: `Node-RED at ${url} serves the installed certificate` });
    const other = pki.issueLeaf();
    server.setSecureContext({ key: other.privkey, cert: other.fullchain });
    const r = await check({ NODE_RED_URL: url });
    expect(r).toMatchObject({ status: 'fail', message: expect.stringContaining('serves another certificate'), fix: expect.stringContaining('restart Node-RED') });
  });

  it('fails when nothing listens, saying so', async () => {
    const r = await check({ NODE_RED_URL: 'https://127.0.0.1:9' });
    expect(r).toMatchObject({ status: 'fail', message: expect.stringContaining('(ECONNREFUSED)'), fix: expect.stringContaining('is Node-RED running') });
  });
});

/** waitForTxt and nameserversFor against a real pebble-challtestsrv (a DNS server, not an authoritative one: see dns-authoritative.test.ts). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { nameserversFor, waitForTxt, type Nameserver } from '../../src/dns/propagation';
import { AbortedError, PropagationError } from '../../src/errors';
import { ChalltestsrvPublisher } from '../fakes/challtestsrv-publisher';
import { freePorts } from '../helpers/ports';
import { startServerProcess, type ServerProcess } from '../helpers/process';

/** A real pebble-challtestsrv DNS server (no Pebble needed for these tests). */
let chall: ServerProcess;
let dir: string;
let dnsPort: number;
let publisher: ChalltestsrvPublisher;
let servers: Nameserver[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nrcert-propagation-'));
  const [dns, management] = (await freePorts(2, { udp: true })) as [number, number];
  dnsPort = dns;
  chall = startServerProcess('pebble-challtestsrv', 'pebble-challtestsrv', [
    '-dns01', `127.0.0.1:${dns}`, '-management', `127.0.0.1:${management}`,
    '-http01', '', '-https01', '', '-tlsalpn01', '',
  ], process.env, dir);
  const url = `http://127.0.0.1:${management}`;
  for (let deadline = Date.now() + 10_000; ; ) {
    if (chall.exitStatus() !== undefined) throw new Error(`challtestsrv ${chall.exitStatus()}: ${chall.output()}`);
    if (await fetch(`${url}/`).then(() => true, () => false)) break;
    if (Date.now() > deadline) throw new Error(`challtestsrv did not start: ${chall.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  publisher = new ChalltestsrvPublisher(url);
  servers = await nameserversFor('example.test', [`127.0.0.1:${dns}`]);
});
afterAll(async () => {
  await chall?.stop();
  rmSync(dir, { recursive: true, force: true });
});

let seq = 0;
/** A fresh record name per test, so values never carry over. */
const freshName = () => `_acme-challenge.t${++seq}.example.test`;

/** A logger whose lines the test can read. */
function capturingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

describe('waitForTxt', () => {
  it('resolves on the first query when every value is already served', async () => {
    const name = freshName();
    await publisher.add(name, 'apex');
    await publisher.add(name, 'wildcard');
    const { logger, lines } = capturingLogger();
    await waitForTxt(name, ['apex', 'wildcard'], servers, { timeoutMs: 5000, logger });
    expect(lines).toEqual([expect.objectContaining({ msg: 'TXT record visible at every nameserver', fqdn: name, attempt: 1 })]);
  });

  it('waits for a value that appears later and resolves once it is served', async () => {
    const name = freshName();
    await publisher.add(name, 'first');
    let addStartedAt = Infinity;
    const later = new Promise<void>((resolve, reject) => setTimeout(() => {
      addStartedAt = Date.now();
      publisher.add(name, 'second').then(resolve, reject);
    }, 600));
    const { logger, lines } = capturingLogger();
    await waitForTxt(name, ['first', 'second'], servers, { timeoutMs: 10_000, logger });
    const resolvedAt = Date.now();
    await later;
    expect(resolvedAt).toBeGreaterThanOrEqual(addStartedAt);
    expect(lines.some((l) => l.msg === 'TXT record not visible yet')).toBe(true);
    expect(lines.find((l) => l.msg === 'TXT record visible at every nameserver')?.attempt).toBeGreaterThan(1);
  });

  it('times out naming the server that never served the value', async () => {
    const name = freshName();
    await publisher.add(name, 'other');
    const started = Date.now();
    const err = await waitForTxt(name, ['expected'], servers, { timeoutMs: 1500, logger: pino({ level: 'silent' }) })
      .then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(PropagationError);
    expect((err as Error).message).toContain(`the TXT record ${name} was not visible at 127.0.0.1:${dnsPort}`);
    expect((err as Error).message).toContain('DNS_PROPAGATION_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('names only the servers still missing the value', async () => {
    const name = freshName();
    await publisher.add(name, 'v');
    const [unused] = (await freePorts(1, { udp: true })) as [number];
    const dead: Nameserver = { address: '127.0.0.1', port: unused, label: `dead:${unused}` };
    const err = await waitForTxt(name, ['v'], [...servers, dead], { timeoutMs: 3000, logger: pino({ level: 'silent' }) })
      .then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(PropagationError);
    expect((err as Error).message).toContain(`dead:${unused}`);
    expect((err as Error).message).not.toContain(`127.0.0.1:${dnsPort}`);
  });

  it('sets aside an address of a nameserver that gives no answer when another address of the same host has every value', async () => {
    const name = freshName();
    await publisher.add(name, 'v');
    const [unused] = (await freePorts(1, { udp: true })) as [number];
    const host = 'ns2.example.test';
    const both: Nameserver[] = [
      { address: '127.0.0.1', port: dnsPort, label: `${host} (127.0.0.1)`, host },
      { address: '127.0.0.1', port: unused, label: `${host} (unreachable)`, host },
    ];
    const { logger, lines } = capturingLogger();
    await waitForTxt(name, ['v'], both, { timeoutMs: 3000, logger });
    expect(lines).toEqual([
      expect.objectContaining({ msg: 'a nameserver address did not answer; its other addresses did', unreachable: [`${host} (unreachable) (ECONNREFUSED)`] }),
      expect.objectContaining({ msg: 'TXT record visible at every nameserver', attempt: 1 }),
    ]);
  });

  it('still waits for a host none of whose addresses answers', async () => {
    const name = freshName();
    await publisher.add(name, 'v');
    const [a, b] = (await freePorts(2, { udp: true })) as [number, number];
    const servers2: Nameserver[] = [
      { address: '127.0.0.1', port: dnsPort, label: 'ns1 (has it)', host: 'ns1.example.test' },
      { address: '127.0.0.1', port: a, label: 'ns3 (a)', host: 'ns3.example.test' },
      { address: '127.0.0.1', port: b, label: 'ns3 (b)', host: 'ns3.example.test' },
    ];
    const err2 = await waitForTxt(name, ['v'], servers2, { timeoutMs: 1500, logger: pino({ level: 'silent' }) }).catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(PropagationError);
    expect((err2 as Error).message).toContain('not visible at ns3 (a) (ECONNREFUSED), ns3 (b) (ECONNREFUSED) after');
    expect((err2 as Error).message).not.toContain('zone transfer');
  });

  it('stops promptly with AbortedError when the signal fires', async () => {
    const name = freshName();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const started = Date.now();
    const err = await waitForTxt(name, ['never'], servers, { timeoutMs: 60_000, logger: pino({ level: 'silent' }), signal: controller.signal })
      .then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(AbortedError);
    expect(Date.now() - started).toBeLessThan(1500);
  });
});

describe('nameserversFor', () => {
  it('returns DNS_RESOLVERS as given, port 53 by default, without asking for NS records', async () => {
    expect(await nameserversFor('example.test', ['127.0.0.1:8053', '192.0.2.1', '[::1]:5353', '::1'])).toEqual([
      { address: '127.0.0.1', port: 8053, label: '127.0.0.1:8053' },
      { address: '192.0.2.1', port: 53, label: '192.0.2.1' },
      { address: '::1', port: 5353, label: '[::1]:5353' },
      { address: '::1', port: 53, label: '::1' },
    ]);
  });

  it('resolves a resolver given by host name', async () => {
    const found = await nameserversFor('example.test', ['localhost:8053']);
    expect(found.length).toBeGreaterThan(0);
    for (const s of found) {
      expect(s.port).toBe(8053);
      expect(['127.0.0.1', '::1']).toContain(s.address);
      expect(s.label).toBe(`localhost (${s.address})`);
    }
  });
});

/**
 * The propagation check used in production, against real authoritative servers: DNS_RESOLVERS is
 * unset, so nrcert looks up the NS records of example.test through the machine's resolver (its
 * own mount namespace's /etc/resolv.conf) and asks ns1 (Knot primary) and ns2 (Knot secondary,
 * fed by NOTIFY + IXFR) directly. The Cloudflare fake publishes into the primary by dynamic
 * update; Pebble validates at the secondary only, so a CA told too early fails the order.
 */
import { promises as dns } from 'node:dns';
import { join } from 'node:path';
import { startCloudflareFake, type CloudflareFake } from '../fakes/cloudflare-api';
import { SENTINEL_TOKEN, type CliResult } from '../helpers/cli';
import { authoritativeUnavailable, spawnCommandInNamespace, spawnInNamespace, startAuthoritativeZone, udpFree, type AuthoritativeZone } from '../helpers/knot';
import { startPebble, type PebbleEnv } from '../helpers/pebble';
import { describeWhenAvailable } from '../helpers/required';
import { makeTempDir, removeTempDir } from '../helpers/tmp';
import { waitFor } from '../helpers/wait';

const describeAuthoritative = describeWhenAvailable('the authoritative DNS tests', authoritativeUnavailable());

const NAME = '_acme-challenge.example.test';
/** A throwaway zone on the same two servers, and a token that may edit it alone (CNAME delegation). */
const ACME_ZONE = 'acme-zone.test';
const DELEGATED_TOKEN = 'delegated-TOKEN-7b1e4c0a92d35f68-do-not-log';
/** A token for example.test alone: it cannot follow a delegation into the throwaway zone. */
const EXAMPLE_ONLY_TOKEN = 'example-only-TOKEN-c4d2a9e0f1b37a55-do-not-log';
let zone: AuthoritativeZone;
let pebble: PebbleEnv;
let fake: CloudflareFake;
let dir: string;

/** Fails with the run's output and the servers' logs when the exit code is not `code`. */
function expectExit(result: CliResult, code: number): void {
  if (result.code !== code) throw new Error(`exit ${result.code} (expected ${code})\n${result.stdout}\n${result.stderr}\n${zone.output()}`);
}

function env(overrides: Record<string, string | undefined> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    NODE_EXTRA_CA_CERTS: pebble.caCertPath,
    DOMAINS: 'example.test,*.example.test',
    ACME_DIRECTORY: pebble.directoryUrl,
    CLOUDFLARE_API_TOKEN: SENTINEL_TOKEN,
    CLOUDFLARE_BASE_URL: fake.baseURL,
    DNS_PROPAGATION_TIMEOUT: '30',
    CERT_DIR: join(dir, 'certs'),
    STATE_DIR: join(dir, 'state'),
    LOG_LEVEL: 'debug',
    LOG_FORMAT: 'json',
    ...overrides,
  };
}

/** The JSON log lines of one run (stderr), each with its pino `time` in ms. */
function logLines(result: CliResult): Array<Record<string, unknown> & { msg: string; time: number }> {
  return result.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
}

/** The values nrcert asked the fake to publish at NAME. */
function publishedValues(): string[] {
  return fake.records().filter((r) => r.type === 'TXT' && r.name === NAME).map((r) => r.content.replace(/^"|"$/g, ''));
}

describeAuthoritative('nrcert against a real primary and secondary (DNS_RESOLVERS unset)', () => {
  beforeAll(async () => {
    zone = await startAuthoritativeZone('example.test', [ACME_ZONE]);
    pebble = await startPebble({ dnsServer: `${zone.secondary.address}:53` });
    fake = await startCloudflareFake({
      zones: [{ name: 'example.test' }, { name: ACME_ZONE }],
      tokens: { [SENTINEL_TOKEN]: {}, [DELEGATED_TOKEN]: { zones: [ACME_ZONE] }, [EXAMPLE_ONLY_TOKEN]: { zones: ['example.test'] } },
      publisher: zone.everyZone,
    });
    dir = await makeTempDir('dnsauth-');
  }, 60_000);

  afterAll(async () => {
    await fake?.stop();
    await pebble?.stop();
    await zone?.stop();
    if (dir) await removeTempDir(dir);
  });

  test('waits until the secondary, too, answers both values, then tells the CA, which validates at the secondary', async () => {
    await zone.holdTransfers();
    const cli = spawnInNamespace(zone.resolvConf, ['renew', '--force'], env(), dir);
    // Both values reach the primary by dynamic update while the secondary cannot fetch them.
    await waitFor(async () => {
      const values = publishedValues();
      return values.length === 2 && (await zone.txt(zone.primary, NAME)).filter((v) => values.includes(v)).length === 2;
    }, 20_000, { what: 'both values at the primary' });
    const values = publishedValues();
    await new Promise((r) => setTimeout(r, 1500));
    expect(await zone.txt(zone.secondary, NAME)).toEqual([]);
    const releasedAt = Date.now();
    await zone.releaseTransfers();
    await waitFor(async () => {
      const seen = await zone.txt(zone.secondary, NAME);
      return values.every((v) => seen.includes(v));
    }, 20_000, { what: 'both values at the secondary, by IXFR' });
    expect(zone.output()).toMatch(/outgoing IXFR frozen[\s\S]*IXFR, incoming, remote [\d.]+@53, finished/);
    const result = await cli.done;
    expectExit(result, 0);
    const logs = logLines(result);
    const waiting = logs.filter((l) => l.msg === 'TXT record not visible yet');
    const visible = logs.find((l) => l.msg === 'TXT record visible at every nameserver');
    const validated = logs.find((l) => l.msg === 'DNS-01 challenges validated');
    // Found through the NS records: it waited for ns2 by name while ns1 already had both values.
    expect(waiting.length).toBeGreaterThan(0);
    expect(waiting[waiting.length - 1].waiting).toEqual([zone.secondary.label]);
    expect(visible).toBeDefined();
    expect(visible!.fqdn).toBe(NAME);
    // Only after the secondary could have had them (the release), and before the CA was told.
    expect(visible!.time).toBeGreaterThanOrEqual(releasedAt);
    expect(validated).toBeDefined();
    expect(validated!.time).toBeGreaterThanOrEqual(visible!.time);
    expect(logs.some((l) => l.msg === 'certificate issued')).toBe(true);
    // Cleanup reached the zone as well.
    expect(publishedValues()).toEqual([]);
    await waitFor(async () => (await zone.txt(zone.primary, NAME)).length === 0, 5000, { what: 'the records removed at the primary' });
  }, 60_000);

  test('with the secondary stuck, times out naming it (exit 6) and removes the records', async () => {
    await zone.holdTransfers();
    try {
      const result = await spawnInNamespace(zone.resolvConf, ['renew', '--force'], env({ DNS_PROPAGATION_TIMEOUT: '4' }), dir).done;
      expectExit(result, 6);
      const failure = lines(result).find((l) => l.includes('was not visible at'));
      expect(failure).toContain(`the TXT record ${NAME} was not visible at ${zone.secondary.label} after`);
      expect(failure).not.toContain(zone.primary.host);
      expect(failure).toContain("the other nameservers have it: the zone update has not reached this one; a secondary's zone transfer is late or blocked");
      expect(result.stderr).toContain('DNS_PROPAGATION_TIMEOUT');
      expect(publishedValues()).toEqual([]);
    } finally {
      await zone.releaseTransfers();
    }
  }, 60_000);

  test('an address of a nameserver that gives no answer (an AAAA of ns2 with nothing behind it) does not hold the wait when its other address answers', async () => {
    const ns2 = `${zone.secondary.host}.`;
    // An IPv4-mapped IPv6 address: asked over an IPv6 socket, it stays on loopback (unlike a real
    // IPv6 address, which could leave the machine), and [::1]:53 may hold a distribution's resolver.
    const silent = zone.secondary.address.replace(/\.3$/, '.5');
    const aaaa = `::ffff:${silent}`;
    if (!(await udpFree(silent))) throw new Error(`something listens at ${silent}:53: this test needs an address with nothing behind it`);
    // TTL 1: the resolver caches the address, and the later tests must not meet it.
    await zone.publisher.update([`update add ${ns2} 1 AAAA ${aaaa}`]);
    try {
      await waitFor(async () => (await dnsLookupInNamespace(zone.secondary.host)).includes(aaaa), 10_000, { what: `ns2 AAAA ${aaaa} at the resolver` });
      const result = await spawnInNamespace(zone.resolvConf, ['renew', '--force'], env({ DNS_PROPAGATION_TIMEOUT: '10' }), dir).done;
      expectExit(result, 0);
      const logs = logLines(result);
      const unreachable = logs.find((l) => l.msg === 'a nameserver address did not answer; its other addresses did');
      expect(unreachable?.unreachable).toEqual([`${zone.secondary.host} (${aaaa}) (ECONNREFUSED)`]);
      expect(logs.some((l) => l.msg === 'TXT record visible at every nameserver')).toBe(true);
    } finally {
      await zone.publisher.update([`update delete ${ns2} AAAA`]);
      await waitFor(async () => !(await dnsLookupInNamespace(zone.secondary.host)).includes(aaaa), 10_000, { what: `ns2 AAAA ${aaaa} gone from the resolver` });
    }
  }, 60_000);

  test('a CNAME at the challenge name (which hides the TXT record) is named in the timeout, with what to do', async () => {
    const name = '_acme-challenge.cname.example.test';
    await zone.publisher.update([`update add ${name}. 60 CNAME _acme-challenge.elsewhere.test.`]);
    try {
      const result = await spawnInNamespace(zone.resolvConf, ['renew', '--force'], env({ DOMAINS: 'cname.example.test', DNS_PROPAGATION_TIMEOUT: '3' }), dir).done;
      expectExit(result, 6);
      const failure = lines(result).find((l) => l.startsWith('nrcert:'));
      // The resolver rotates the NS records; nrcert names them sorted.
      expect(failure).toContain(`the TXT record ${name} was not visible at ${zone.primary.label}, ${zone.secondary.label} after`);
      expect(failure).toContain(`there ${name} is a CNAME to _acme-challenge.elsewhere.test, and a CNAME hides every other record at its name: remove the CNAME, or publish the record at _acme-challenge.elsewhere.test`);
    } finally {
      await zone.publisher.update([`update delete ${name}. CNAME`]);
    }
  }, 60_000);

  test('a CNAME on the authoritative servers delegates the challenge: published in the target zone with a token for it alone, checked at its nameservers', async () => {
    const target = `_acme-challenge.${ACME_ZONE}`;
    await zone.publisher.update([`update add ${NAME}. 60 CNAME ${target}.`]);
    // An authoritative server answers the CNAME alone; following it into the other zone is a
    // resolver's job, as Let's Encrypt's is: this Pebble validates through the Unbound resolver.
    const recursive = await startPebble({ dnsServer: `${zone.resolver}:53` });
    try {
      await waitFor(async () => (await cnameAt(zone.secondary.address, NAME)) === target, 20_000, { what: 'the CNAME at the secondary' });
      const from = fake.requests.length;
      const result = await spawnInNamespace(zone.resolvConf, ['renew', '--force'],
        env({ CLOUDFLARE_API_TOKEN: DELEGATED_TOKEN, ACME_DIRECTORY: recursive.directoryUrl, NODE_EXTRA_CA_CERTS: recursive.caCertPath }), dir).done;
      expectExit(result, 0);
      const logs = logLines(result);
      const delegated = logs.find((l) => l.msg.includes('is delegated to'));
      expect(delegated).toMatchObject({ name: NAME, target, chain: [NAME, target] });
      // Checked at the nameservers of the target's zone (ns1 and ns2 serve it too, found by its NS records).
      const waiting = logs.filter((l) => l.msg === 'TXT record not visible yet');
      for (const w of waiting) expect(w.fqdn).toBe(target);
      const visible = logs.find((l) => l.msg === 'TXT record visible at every nameserver');
      expect(visible?.fqdn).toBe(target);
      expect(logs.some((l) => l.msg === 'certificate issued')).toBe(true);
      const created = fake.requests.slice(from).filter((r) => r.method === 'POST' && r.path.endsWith('/dns_records'));
      const acmeZoneId = fake.zones.find((z) => z.name === ACME_ZONE)!.id;
      expect(created.map((r) => [r.path.split('/')[4], (r.body as { name: string }).name, r.status])).toEqual([[acmeZoneId, target, 200], [acmeZoneId, target, 200]]);
      expect(fake.records()).toEqual([]);
      await waitFor(async () => (await zone.txt(zone.primary, target)).length === 0, 5000, { what: 'the records removed at the primary' });
      expect(result.stderr).not.toContain(DELEGATED_TOKEN);

      // A token that cannot see the target's zone fails before any order, naming the zone the DNS gave.
      const refused = await spawnInNamespace(zone.resolvConf, ['renew', '--force'],
        env({ CLOUDFLARE_API_TOKEN: EXAMPLE_ONLY_TOKEN, ACME_DIRECTORY: recursive.directoryUrl, NODE_EXTRA_CA_CERTS: recursive.caCertPath }), dir).done;
      expectExit(refused, 5);
      expect(refused.stderr).toContain(`${NAME} is a CNAME to ${target} (${NAME} → ${target}), so the TXT record goes in the zone ${ACME_ZONE}, but cloudflare cannot publish there`);
      expect(refused.stderr).toContain(`Give the token DNS:Edit and Zone:Read on the zone ${ACME_ZONE}`);
      expect(refused.stderr).not.toContain('ACME order created');
    } finally {
      await recursive.stop();
      await zone.publisher.update([`update delete ${NAME}. CNAME`]);
    }
  }, 60_000);

  test('DNS_PROVIDER=rfc2136 with no fake at all: TSIG-signed updates at the real primary, nrcert waits for the secondary too, then tells the CA', async () => {
    const rfc2136 = {
      CLOUDFLARE_API_TOKEN: undefined, CLOUDFLARE_BASE_URL: undefined, DNS_PROVIDER: 'rfc2136', RFC2136_SERVER: `${zone.primary.address}:53`,
      RFC2136_TSIG_KEY_NAME: zone.key.name, RFC2136_TSIG_SECRET: zone.key.secret,
    };
    const requestsToFake = fake.requests.length;
    // The delegation test's CNAME is deleted at the primary; the secondary must have lost it too,
    // or nrcert (rightly) follows it into the other zone.
    await waitFor(async () => (await cnameAt(zone.primary.address, NAME)) === undefined && (await cnameAt(zone.secondary.address, NAME)) === undefined,
      20_000, { what: `no CNAME left at ${NAME} on either server` });
    await zone.holdTransfers();
    try {
      const cli = spawnInNamespace(zone.resolvConf, ['renew', '--force'], env(rfc2136), dir);
      await waitFor(async () => (await zone.txt(zone.primary, NAME)).length === 2, 20_000, { what: 'both values at the primary, by signed update' })
        .catch(async (err: Error) => {
          cli.child.kill('SIGTERM');
          const r = await cli.done;
          throw new Error(`${err.message}\n${r.stdout}\n${r.stderr}\n${zone.output()}`);
        });
      const values = await zone.txt(zone.primary, NAME);
      await new Promise((r) => setTimeout(r, 1500));
      expect(await zone.txt(zone.secondary, NAME)).toEqual([]);
      const releasedAt = Date.now();
      await zone.releaseTransfers();
      const result = await cli.done;
      expectExit(result, 0);
      const logs = logLines(result);
      const waiting = logs.filter((l) => l.msg === 'TXT record not visible yet');
      const visible = logs.find((l) => l.msg === 'TXT record visible at every nameserver');
      expect(waiting.length).toBeGreaterThan(0);
      expect(waiting[waiting.length - 1].waiting).toEqual([zone.secondary.label]);
      expect(visible!.time).toBeGreaterThanOrEqual(releasedAt);
      expect(logs.find((l) => l.msg === 'DNS-01 challenges validated')!.time).toBeGreaterThanOrEqual(visible!.time);
      expect(values).toHaveLength(2);
      // Each value deleted by itself at the primary; the secret in no line; the fake never asked.
      await waitFor(async () => (await zone.txt(zone.primary, NAME)).length === 0, 5000, { what: 'the records removed at the primary' });
      expect(`${result.stdout}${result.stderr}`).not.toContain(zone.key.secret);
      expect(fake.requests).toHaveLength(requestsToFake);
    } finally {
      await zone.releaseTransfers();
    }
  }, 60_000);

  test('doctor finds the zone through the machine\'s resolver and names both nameservers as answering', async () => {
    const result = await spawnInNamespace(zone.resolvConf, ['doctor', '--json'], env(), dir).done;
    const report = JSON.parse(result.stdout) as { checks: Array<{ id: string; status: string; message: string }> };
    const check = report.checks.find((c) => c.id === 'dns');
    expect(check).toEqual(expect.objectContaining({ status: 'ok' }));
    expect(check!.message).toBe(`2 servers (the nameservers of example.test) answer DNS queries: ${zone.primary.label}, ${zone.secondary.label}`);
  }, 60_000);
});

/** The addresses `host` has for a process in the test's namespace (getent ahosts, i.e. getaddrinfo). */
async function dnsLookupInNamespace(host: string): Promise<string> {
  const result = await spawnCommandInNamespace(zone.resolvConf, ['getent', 'ahosts', host]);
  return result.stdout;
}

/** The CNAME `address` answers for `name`, asked directly. */
async function cnameAt(address: string, name: string): Promise<string | undefined> {
  const resolver = new dns.Resolver({ timeout: 1000, tries: 1 });
  resolver.setServers([`${address}:53`]);
  return resolver.resolveCname(name).then((t) => t[0], () => undefined);
}

function lines(result: CliResult): string[] {
  return `${result.stdout}\n${result.stderr}`.split('\n');
}

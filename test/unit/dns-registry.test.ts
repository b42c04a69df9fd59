/**
 * The DNS provider registry: every provider's settings are known to the env-file check (no
 * "unknown setting" warning for them), its credential variables never reach a child, and
 * building a provider requires its client only then.
 */
import { KNOWN_SETTINGS } from '../../src/config/env-file';
import { DNS_PROVIDERS, PROVIDER_NAMES } from '../../src/dns/registry';
import { withoutSecrets } from '../../src/util/command';
import { Secret } from '../../src/config/secret';
import pino from 'pino';

describe('DNS provider registry', () => {
  it.each(PROVIDER_NAMES)('%s: its settings are known settings and its credentials are kept from children', (name) => {
    const entry = DNS_PROVIDERS[name];
    for (const setting of entry.settings) expect(KNOWN_SETTINGS).toContain(setting);
    const env = Object.fromEntries(entry.secrets.map((s) => [s, 'sentinel-secret']));
    expect(Object.values(withoutSecrets(env)).filter(Boolean)).toEqual([]);
  });

  it('reads a provider\'s settings only through its own folder (no provider client loaded to do so)', () => {
    const problems: string[] = [];
    const settings = DNS_PROVIDERS.cloudflare.readSettings({ env: { CLOUDFLARE_ZONE_ID: 'nope' }, problems, purpose: 'status', expand: (p) => p });
    expect(problems).toEqual([expect.stringMatching(/^CLOUDFLARE_ZONE_ID is not a 32-character hex zone id/)]);
    expect(settings).toMatchObject({ apiToken: undefined, timeoutMs: 30_000 });
    expect(Object.keys(require.cache).some((k) => /node_modules[\\/]cloudflare[\\/]/.test(k))).toBe(false);
  });

  it('duckdns: reads its settings without loading its provider, and its provider declares the sequential capability', () => {
    const problems: string[] = [];
    const settings = DNS_PROVIDERS.duckdns.readSettings({ env: { DUCKDNS_SEQUENCE_INTERVAL: '0' }, problems, purpose: 'status', expand: (p) => p });
    expect(problems).toEqual([]);
    expect(Object.keys(require.cache).some((k) => /dns[\\/]duckdns[\\/]provider/.test(k))).toBe(false);
    const dns = DNS_PROVIDERS.duckdns.create({ ...settings, token: new Secret('5e471e1a-0b5c-4d2e-9a7f-3c1d0c0ffee5') }, { stateDir: '/nonexistent', logger: pino({ level: 'silent' }) });
    expect(dns.name).toBe('duckdns');
    expect(dns.sequential).toEqual({ intervalMs: 0 });
  });
});

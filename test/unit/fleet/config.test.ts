import { providerHasCredentials } from '../../../src/dns/registry';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { loadConfig, type ConfigSources } from '../../../src/config/config';
import { ConfigError } from '../../../src/errors';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nrcert-fleet-config-'));
  mkdirSync(join(dir, 'work'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const sources = (env: Record<string, string | undefined>): ConfigSources => ({ env: { DOMAINS: 'example.com,*.example.com', ...env }, home: dir, cwd: join(dir, 'work') });

function keyFile(content: Buffer | string): string {
  const path = join(dir, `key-${Math.random()}`);
  writeFileSync(path, content);
  return path;
}

function problems(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(sources(env), 'renew');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('loadConfig did not throw');
}

describe('FLEET_* settings', () => {
  it('no FLEET_* (or only empty ones, as in .env.example): no fleet', () => {
    const config = loadConfig(sources({ CLOUDFLARE_API_TOKEN: 't', FLEET_NAME: '', FLEET_ROLE: ' ' }), 'renew');
    expect(config.fleet).toBeUndefined();
  });

  it('reports every fleet problem at once, each naming its setting', () => {
    const found = problems({
      CLOUDFLARE_API_TOKEN: 't', FLEET_ETCD_ENDPOINTS: 'ftp://x:1,https://ok:2379', FLEET_NAME: 'no spaces please', FLEET_KEY_FILE: keyFile('short'),
      FLEET_ROLE: 'boss', FLEET_ETCD_CERT_FILE: keyFile('cert'), FLEET_ETCD_USER: 'u', FLEET_LEASE_TTL: '1', FLEET_ETCD_CA_FILE: join(dir, 'missing.pem'),
    });
    expect(found).toEqual(expect.arrayContaining([
      expect.stringMatching(/^FLEET_ETCD_ENDPOINTS: "ftp:\/\/x:1"/),
      expect.stringMatching(/^FLEET_NAME: /),
      expect.stringMatching(/^FLEET_KEY_FILE: .* does not hold a 32-byte key/),
      expect.stringMatching(/^FLEET_ROLE: "boss" is not one of issuer, member, auto/),
      expect.stringMatching(/^FLEET_ETCD_CERT_FILE and FLEET_ETCD_KEY_FILE go together/),
      expect.stringMatching(/^FLEET_ETCD_USER and FLEET_ETCD_PASSWORD_FILE go together/),
      expect.stringMatching(/^FLEET_LEASE_TTL: /),
      expect.stringMatching(/^FLEET_ETCD_CA_FILE: cannot read .* \(ENOENT\)/),
    ]));
    expect(found).toHaveLength(8);
  });

  it('a set FLEET_* without the rest names what is missing', () => {
    expect(problems({ CLOUDFLARE_API_TOKEN: 't', FLEET_NAME: 'home' })).toEqual([
      expect.stringMatching(/^FLEET_ETCD_ENDPOINTS is not set/),
      expect.stringMatching(/^FLEET_KEY_FILE is not set/),
    ]);
  });

  it('reads a 32-byte key as raw bytes, hex or base64, kept in a Secret', () => {
    const raw = Buffer.alloc(32, 7);
    for (const content of [raw, raw.toString('hex') + '\n', raw.toString('base64')]) {
      const config = loadConfig(sources({ CLOUDFLARE_API_TOKEN: 't', FLEET_ETCD_ENDPOINTS: 'https://10.0.0.5:2379', FLEET_NAME: 'home', FLEET_KEY_FILE: keyFile(content) }), 'renew');
      expect(Buffer.from(config.fleet!.key.reveal(), 'base64').equals(raw)).toBe(true);
      expect(`${config.fleet!.key} ${JSON.stringify(config.fleet)} ${inspect(config.fleet)}`).not.toContain(raw.toString('base64'));
      expect(config.fleet).toMatchObject({ role: 'auto', leaseTtlSeconds: 15, endpoints: ['https://10.0.0.5:2379'] });
    }
  });

  it('a member needs no Cloudflare token; an issuer does', () => {
    const base = { FLEET_ETCD_ENDPOINTS: 'https://10.0.0.5:2379', FLEET_NAME: 'home', FLEET_KEY_FILE: keyFile(Buffer.alloc(32, 1)) };
    expect(loadConfig(sources({ ...base, FLEET_ROLE: 'member' }), 'renew').fleet!.role).toBe('member');
    expect(providerHasCredentials(loadConfig(sources(base), 'renew').dns)).toBe(false);
    expect(problems({ ...base, FLEET_ROLE: 'issuer' })).toEqual([expect.stringMatching(/^CLOUDFLARE_API_TOKEN is not set/)]);
  });

  it('the etcd client key and password are Secrets', () => {
    const config = loadConfig(sources({
      FLEET_ETCD_ENDPOINTS: 'https://10.0.0.5:2379', FLEET_NAME: 'home', FLEET_KEY_FILE: keyFile(Buffer.alloc(32, 1)), FLEET_ROLE: 'member',
      FLEET_ETCD_CERT_FILE: keyFile('CERT'), FLEET_ETCD_KEY_FILE: keyFile('SENTINEL-etcd-key'), FLEET_ETCD_USER: 'nrcert', FLEET_ETCD_PASSWORD_FILE: keyFile('SENTINEL-pw\n'),
    }), 'renew');
    expect(config.fleet!.auth!.password.reveal()).toBe('SENTINEL-pw');
    expect(inspect(config, { depth: 10 }) + JSON.stringify(config)).not.toMatch(/SENTINEL/);
  });

  it('.env.example lists every FLEET_* setting, empty', () => {
    const example = readFileSync(join(__dirname, '..', '..', '..', '.env.example'), 'utf8');
    for (const name of ['FLEET_ETCD_ENDPOINTS', 'FLEET_ETCD_CA_FILE', 'FLEET_ETCD_CERT_FILE', 'FLEET_ETCD_KEY_FILE', 'FLEET_ETCD_USER', 'FLEET_ETCD_PASSWORD_FILE', 'FLEET_NAME', 'FLEET_KEY_FILE', 'FLEET_ROLE', 'FLEET_HOST', 'FLEET_LEASE_TTL']) {
      expect(example).toMatch(new RegExp(`^${name}=$`, 'm'));
    }
  });
});

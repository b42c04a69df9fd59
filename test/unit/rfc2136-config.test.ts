/**
 * RFC2136_* settings (src/dns/rfc2136/config.ts): the defaults, host[:port] in its three shapes,
 * the secret inline or from a file, and every problem reported at once, each naming its setting
 * without echoing the secret. Reading the settings loads neither the client nor dns-packet.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRfc2136Settings } from '../../src/dns/rfc2136/config';
import { DNS_PROVIDERS } from '../../src/dns/registry';

const SECRET = 'c2VudGluZWwtdHNpZy1zZWNyZXQtZG8tbm90LWxvZw==';

function read(env: Record<string, string | undefined>, purpose: 'renew' | 'status' = 'renew') {
  const problems: string[] = [];
  const settings = readRfc2136Settings({ env, problems, purpose, expand: (p) => p });
  return { settings, problems };
}

describe('RFC2136_* settings', () => {
  it('reads a complete set, with port 53 and hmac-sha256 by default', () => {
    const { settings, problems } = read({ RFC2136_SERVER: 'ns1.example.com', RFC2136_TSIG_KEY_NAME: 'nrcert.', RFC2136_TSIG_SECRET: SECRET });
    expect(problems).toEqual([]);
    expect(settings).toMatchObject({ server: { host: 'ns1.example.com', port: 53 }, keyName: 'nrcert', algorithm: 'hmac-sha256', zone: undefined, timeoutMs: 30_000 });
    expect(settings.secret?.reveal()).toBe(SECRET);
    expect(JSON.stringify(settings)).not.toContain(SECRET);
  });

  it.each([
    ['192.0.2.1:5353', { host: '192.0.2.1', port: 5353 }],
    ['[2001:db8::1]:53', { host: '2001:db8::1', port: 53 }],
    ['2001:db8::1', { host: '2001:db8::1', port: 53 }],
  ])('RFC2136_SERVER=%s', (raw, server) => {
    expect(read({ RFC2136_SERVER: raw, RFC2136_TSIG_KEY_NAME: 'k', RFC2136_TSIG_SECRET: SECRET }).settings.server).toEqual(server);
  });

  it('reads the secret from RFC2136_TSIG_SECRET_FILE, and takes any algorithm BIND and Knot accept', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nrcert-rfc2136-'));
    try {
      writeFileSync(join(dir, 'secret'), `${SECRET}\n`);
      const { settings, problems } = read({
        RFC2136_SERVER: 'ns1.example.com', RFC2136_TSIG_KEY_NAME: 'k', RFC2136_TSIG_SECRET_FILE: join(dir, 'secret'),
        RFC2136_TSIG_ALGORITHM: 'HMAC-SHA512', RFC2136_ZONE: 'Example.COM.',
      });
      expect(problems).toEqual([]);
      expect(settings.secret?.reveal()).toBe(SECRET);
      expect(settings).toMatchObject({ algorithm: 'hmac-sha512', zone: 'example.com' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports every problem at once, each naming its setting, never echoing the secret', () => {
    const bad = `${SECRET.slice(0, 10)}!!`;
    const { problems } = read({
      RFC2136_SERVER: 'ns1.example.com:70000', RFC2136_TSIG_ALGORITHM: 'hmac-md5', RFC2136_TSIG_SECRET: bad,
      RFC2136_ZONE: 'https://example.com', RFC2136_TIMEOUT: 'soon',
    });
    expect(problems).toEqual([
      expect.stringMatching(/^RFC2136_SERVER: .* port from 1 to 65535/),
      expect.stringMatching(/^RFC2136_TSIG_KEY_NAME is not set: .*tsig-keygen/),
      expect.stringMatching(/^RFC2136_TSIG_ALGORITHM: "hmac-md5" is not one of hmac-sha256, /),
      expect.stringMatching(/^RFC2136_TSIG_SECRET is not base64/),
      expect.stringMatching(/^RFC2136_ZONE: .*looks like a URL/),
      expect.stringMatching(/^RFC2136_TIMEOUT: /),
    ]);
    expect(problems.join('\n')).not.toContain(bad);
    expect(read({}).problems.map((p) => p.split(' ')[0])).toEqual(['RFC2136_SERVER', 'RFC2136_TSIG_KEY_NAME', 'RFC2136_TSIG_SECRET']);
  });

  it('needs nothing for status, and loads no client code to read settings', () => {
    expect(read({}, 'status').problems).toEqual([]);
    expect(DNS_PROVIDERS.rfc2136.credentialsGiven({ RFC2136_TSIG_SECRET_FILE: '/x' })).toBe(true);
    expect(Object.keys(require.cache).some((k) => /dns-packet|rfc2136[\\/](client|provider)/.test(k))).toBe(false);
  });
});

import { randomBytes } from 'node:crypto';
import { Secret } from '../../../src/config/secret';
import { FleetKeyError } from '../../../src/fleet/errors';
import { openKey, sealKey } from '../../../src/fleet/set';
import { prefixEnd } from '../../../src/fleet/etcd';

const key = () => new Secret(randomBytes(32).toString('base64'));
const PEM = '-----BEGIN PRIVATE KEY-----\nSENTINEL-private-key\n-----END PRIVATE KEY-----\n';

describe('the sealed private key (AES-256-GCM)', () => {
  it('opens with the same key and AAD, and the sealed text does not carry the key', () => {
    const k = key();
    const sealed = sealKey(k, PEM, 'home/1');
    expect(sealed).not.toContain('SENTINEL');
    expect(openKey(k, sealed, 'home/1')).toBe(PEM);
  });

  it('refuses another key, another fleet or version (AAD), and changed data, with FleetKeyError', () => {
    const k = key();
    const sealed = sealKey(k, PEM, 'home/1');
    expect(() => openKey(key(), sealed, 'home/1')).toThrow(FleetKeyError);
    expect(() => openKey(k, sealed, 'home/2')).toThrow(/does not open with FLEET_KEY_FILE/);
    const tampered = JSON.parse(sealed);
    tampered.data = Buffer.from(Buffer.from(tampered.data, 'base64').map((b: number, i: number) => (i === 0 ? b ^ 1 : b))).toString('base64');
    expect(() => openKey(k, JSON.stringify(tampered), 'home/1')).toThrow(FleetKeyError);
  });
});

describe('prefixEnd', () => {
  it('is the first key after every key with the prefix', () => {
    expect(prefixEnd('/nrcert/fleet/home/hosts/')).toBe('/nrcert/fleet/home/hosts0');
    expect(prefixEnd('a')).toBe('b');
  });
});

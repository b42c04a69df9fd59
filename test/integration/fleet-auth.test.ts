/**
 * The fleet on an etcd cluster with its own authentication on (users and roles), as
 * FLEET_ETCD_USER + FLEET_ETCD_PASSWORD_FILE use it: a host with the fleet's user gets the
 * certificate; a wrong password is one clear error naming the setting, and never printed.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../helpers/cli';
import { installedFingerprint, startFleetWorld, stopAll, type FleetWorld } from '../helpers/fleet';

jest.setTimeout(180_000);

let w: FleetWorld;
beforeAll(async () => {
  // TLS with the CA only: etcd 3.4's gateway refuses client certificates once authentication is on.
  w = await startFleetWorld({ clientCerts: false });
  // root first (etcd wants it before auth is on), then a user that may use /nrcert/fleet/ only.
  w.etcd.ctl(['user', 'add', 'root', '--new-user-password', 'root-pw-test', '--interactive=false']);
  w.etcd.ctl(['role', 'add', 'nrcert-fleet']);
  w.etcd.ctl(['role', 'grant-permission', 'nrcert-fleet', '--prefix=true', 'readwrite', '/nrcert/fleet/']);
  w.etcd.ctl(['user', 'add', 'nrcert', '--new-user-password', 'SENTINEL-etcd-pw-1', '--interactive=false']);
  w.etcd.ctl(['user', 'grant-role', 'nrcert', 'nrcert-fleet']);
  w.etcd.ctl(['auth', 'enable'], 'root:root-pw-test');
});
afterAll(async () => {
  await w?.stop();
});

test('a host with FLEET_ETCD_USER and FLEET_ETCD_PASSWORD_FILE joins and gets the certificate; a wrong password is one clear error', async () => {
  const keyFile = w.etcd.newKeyFile('auth');
  const password = join(w.stack.dir, 'etcd-password');
  writeFileSync(password, 'SENTINEL-etcd-pw-1\n', { mode: 0o600 });
  const host = w.startHost('auth', keyFile, 'a1', { FLEET_ETCD_USER: 'nrcert', FLEET_ETCD_PASSWORD_FILE: password });
  try {
    await w.allCurrent(host, ['a1'], 90_000);
    expect(installedFingerprint(host)).toBe((await w.fleetStatus(host)).certificate!.fingerprint256);
    // Only through the user: the same request without it is refused.
    expect(() => w.etcd.ctl(['get', '/nrcert/fleet/auth/set/version'])).toThrow();

    const wrong = join(w.stack.dir, 'etcd-password-wrong');
    writeFileSync(wrong, 'SENTINEL-wrong-pw-2\n', { mode: 0o600 });
    const refused = await runCli(['fleet', 'status'], { ...host.env, FLEET_ETCD_PASSWORD_FILE: wrong }, w.stack.dir);
    expect(refused.code).toBe(17);
    expect(refused.stderr).toMatch(/FLEET_ETCD_USER/);
    expect(refused.stderr).toMatch(/authentication failed/);
    expect(refused.stderr + refused.stdout).not.toMatch(/SENTINEL/);
  } finally {
    const [result] = await stopAll([host]);
    expect(result.stderr + result.stdout).not.toMatch(/SENTINEL/);
  }
});

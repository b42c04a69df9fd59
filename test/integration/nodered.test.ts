/**
 * nrcert with a real Node-RED, once per release the running Node can start (4 everywhere, 5 from
 * Node 22.9): settings.js made by `nrcert settings --apply` from that release's own default
 * settings.js, certificates from Pebble through the Cloudflare fake, and the served certificate
 * checked with a TLS handshake after each step.
 */
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, startStack, type CliResult, type Stack } from '../helpers/cli';
import { nodeRedReleases, prepareUserDir, startNodeRed, waitFor, type NodeRedInstance, type NodeRedRelease } from '../helpers/nodered';

describe.each(nodeRedReleases(__filename))('with $name', (release: NodeRedRelease) => {
  let stack: Stack;
  let nodeRed: NodeRedInstance | undefined;
  let userDir: string;
  let certDir: string;

  function nrcert(args: string[], overrides: Record<string, string | undefined> = {}): Promise<CliResult> {
    return runCli(args, stack.env({ CERT_DIR: certDir, ...overrides }), stack.dir);
  }

  function installedFingerprint(): string {
    return new X509Certificate(readFileSync(join(certDir, 'cert.pem'))).fingerprint256;
  }

  async function served(): Promise<string> {
    return (await nodeRed!.servedCertificate('example.test')).fingerprint256;
  }

  beforeAll(async () => {
    stack = await startStack();
    userDir = join(stack.dir, 'node-red');
    certDir = join(userDir, 'certs');
    mkdirSync(userDir, { recursive: true });
    prepareUserDir(userDir, release);
    // Node-RED re-reads the files every 3 s (0.05 minutes), the smallest interval worth testing.
    const applied = await nrcert(['settings', '--apply', '--settings', join(userDir, 'settings.js'), '--refresh-minutes', '0.05']);
    expect(applied.code).toBe(0);
  }, 60_000);

  afterAll(async () => {
    await nodeRed?.stop();
    await stack?.stop();
  });

  test('1. first issuance, then Node-RED started from the applied settings.js serves the installed certificate', async () => {
    const result = await nrcert(['renew']);
    expect(result.code).toBe(0);
    nodeRed = await startNodeRed({ userDir, release });
    await nodeRed.waitForTls(20_000);
    expect(nodeRed.readLog()).toContain(`Node-RED version: v${release.version}`);
    expect(await served()).toBe(installedFingerprint());
  });

  test('2. renew --force with a RESTART_COMMAND that really restarts Node-RED: the new certificate is served', async () => {
    const before = installedFingerprint();
    const generation = nodeRed!.state().generation;
    const result = await nrcert(['renew', '--force'], {
      RESTART_COMMAND: nodeRed!.restartCommand.join(' '),
      NODE_RED_URL: nodeRed!.url,
    });
    expect(result.stderr).not.toMatch(/ERROR/);
    expect(result.code).toBe(0);
    expect(installedFingerprint()).not.toBe(before);
    expect(nodeRed!.state().generation).toBe(generation + 1);
    expect(await served()).toBe(installedFingerprint());
  });

  test('3. RESTART_COMMAND=none: Node-RED picks the new certificate up through httpsRefreshInterval, without a restart', async () => {
    const before = installedFingerprint();
    const generation = nodeRed!.state().generation;
    const pid = nodeRed!.state().childPid;
    const result = await nrcert(['renew', '--force'], { RESTART_COMMAND: 'none', NODE_RED_URL: nodeRed!.url, NODE_RED_VERIFY_TIMEOUT: '30' });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/Node-RED serves the installed certificate/);
    expect(installedFingerprint()).not.toBe(before);
    expect(await served()).toBe(installedFingerprint());
    expect(nodeRed!.state().generation).toBe(generation);
    expect(nodeRed!.state().childPid).toBe(pid);
    expect(nodeRed!.readLog()).toMatch(/Server https settings have been refreshed/);
  });

  test('4. a restart that leaves Node-RED down: rollback restores the previous files, exit 10, the previous certificate is served again', async () => {
    const previous = installedFingerprint();
    const previousLineage = realpathSync(join(certDir, 'current'));
    const hook = [process.execPath, join(__dirname, '..', 'helpers', 'botched-restart.js'), userDir, join(stack.dir, 'botched-once')];
    const result = await nrcert(['renew', '--force'], { RESTART_COMMAND: hook.join(' '), NODE_RED_URL: nodeRed!.url, NODE_RED_VERIFY_TIMEOUT: '4' });
    expect(result.code).toBe(10);
    expect(result.stderr).toMatch(/Tried: activating the new certificate \S+: Node-RED at \S+ did not serve the new certificate within 4 s .*no TLS answer.*Installed now: the previous certificate .*, and Node-RED serves it again\./s);
    expect(installedFingerprint()).toBe(previous);
    expect(realpathSync(join(certDir, 'current'))).toBe(previousLineage);
    expect(await served()).toBe(previous);
  });

  test('nrcert rollback puts the previous certificate back on demand and Node-RED serves it', async () => {
    const current = installedFingerprint();
    const result = await nrcert(['rollback'], { RESTART_COMMAND: nodeRed!.restartCommand.join(' '), NODE_RED_URL: nodeRed!.url });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Rolled back:/);
    expect(installedFingerprint()).not.toBe(current);
    await waitFor(async () => (await served()) === installedFingerprint(), 10_000);
  });
});

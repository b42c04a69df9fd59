/**
 * Proves the Node-RED test harness against a real Node-RED (each release the running Node can
 * start: see ../helpers/nodered-releases): it serves HTTPS on loopback, picks up
 * a swapped certificate through httpsRefreshInterval without a restart, really restarts through
 * restartCommand, stays down after a restart with a mismatched key/cert, and stops cleanly.
 */
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFile, mkdir, readFile, rename, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  insertIntoSettings, isAlive, nodeRedReleases, prepareUserDir, startNodeRed, waitFor, type NodeRedInstance, type NodeRedRelease,
} from '../helpers/nodered';
import { makeTempDir, removeTempDir } from '../helpers/tmp';

const execFileAsync = promisify(execFile);

/** A self-signed P-256 key and certificate for `cn` in `dir`; returns the cert's SHA-256 fingerprint. */
async function makeLineage(dir: string, cn: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await execFileAsync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-subj', `/CN=${cn}`, '-addext', `subjectAltName=DNS:${cn}`,
    '-keyout', join(dir, 'privkey.pem'), '-out', join(dir, 'fullchain.pem'),
  ]);
  return new X509Certificate(await readFile(join(dir, 'fullchain.pem'))).fingerprint256;
}

/** Points CERT_DIR/current at `lineage` with one rename, as nrcert does. */
async function switchCurrent(certDir: string, lineage: string): Promise<void> {
  const tmp = join(certDir, 'current.tmp');
  await symlink(join('lineages', lineage), tmp);
  await rename(tmp, join(certDir, 'current'));
}

function runRestart(argv: string[]): Promise<{ code: number; output: string }> {
  const [command, ...args] = argv as [string, ...string[]];
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, output: stdout + stderr });
    });
  });
}

const RELEASES = nodeRedReleases(__filename);

describe.each(RELEASES)('Node-RED harness (real $name over HTTPS)', (release: NodeRedRelease) => {
  let dir: string;
  let certDir: string;
  let nodeRed: NodeRedInstance;
  const fingerprints: Record<string, string> = {};

  beforeAll(async () => {
    dir = await makeTempDir('nodered');
    certDir = join(dir, 'certs');
    fingerprints.a = await makeLineage(join(certDir, 'lineages', 'a'), 'a.example.test');
    fingerprints.b = await makeLineage(join(certDir, 'lineages', 'b'), 'b.example.test');
    // c: b's certificate with a key of its own, so key and certificate do not match.
    await makeLineage(join(certDir, 'lineages', 'c'), 'c.example.test');
    await copyFile(join(certDir, 'lineages', 'b', 'fullchain.pem'), join(certDir, 'lineages', 'c', 'fullchain.pem'));
    await switchCurrent(certDir, 'a');

    const userDir = join(dir, 'userdir');
    await mkdir(userDir);
    insertIntoSettings(prepareUserDir(userDir, release), `
    https: function () {
        const dir = require("fs").realpathSync(${JSON.stringify(join(certDir, 'current'))});
        return {
            key: require("fs").readFileSync(dir + "/privkey.pem"),
            cert: require("fs").readFileSync(dir + "/fullchain.pem"),
        };
    },
    httpsRefreshInterval: 0.001,`);
    nodeRed = await startNodeRed({ userDir, release });
  });

  afterAll(async () => {
    await nodeRed?.stop();
    await removeTempDir(dir);
  });

  it('serves HTTPS on a loopback port with the installed certificate', async () => {
    await nodeRed.waitForTls(15_000);
    expect(nodeRed.url).toBe(`https://127.0.0.1:${nodeRed.port}`);
    expect(nodeRed.readLog()).toContain(`Server now running at ${nodeRed.url}/`); // loopback only
    expect(nodeRed.readLog()).toContain(`Node-RED version: v${release.version}`);
    expect((await nodeRed.servedCertificate()).fingerprint256).toBe(fingerprints.a);
    expect((await nodeRed.servedCertificate('a.example.test')).fingerprint256).toBe(fingerprints.a);
    expect(nodeRed.state()).toMatchObject({ generation: 1, running: true, port: nodeRed.port });
  });

  it('picks up a swapped certificate through httpsRefreshInterval, without a restart', async () => {
    const before = nodeRed.state();
    await switchCurrent(certDir, 'b');
    await waitFor(async () => (await nodeRed.servedCertificate()).fingerprint256 === fingerprints.b, 10_000, { intervalMs: 200, what: 'the swapped certificate served' });
    expect(nodeRed.readLog()).toContain('Server https settings have been refreshed');
    expect(nodeRed.state()).toMatchObject({ generation: before.generation, childPid: before.childPid });
  });

  it('restarts for real through restartCommand and serves again', async () => {
    const before = nodeRed.state();
    const result = await runRestart(nodeRed.restartCommand);
    expect(result).toMatchObject({ code: 0 });
    const after = nodeRed.state();
    expect(after.generation).toBe(before.generation + 1);
    expect(after.childPid).not.toBe(before.childPid);
    expect(isAlive(before.childPid as number)).toBe(false);
    expect((await nodeRed.servedCertificate()).fingerprint256).toBe(fingerprints.b);
  });

  it('stays down after a restart with a mismatched key and certificate; restartCommand fails', async () => {
    await switchCurrent(certDir, 'c');
    const result = await runRestart(nodeRed.restartCommand);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('Node-RED exited after the restart');
    expect(await nodeRed.isRunning()).toBe(false);
    expect(nodeRed.readLog()).toContain('Failed to get https settings');
    expect(nodeRed.state().lastExit).toMatchObject({ code: 0 }); // Node-RED exits 0: nothing restarts it
    await expect(nodeRed.servedCertificate()).rejects.toThrow(/ECONNREFUSED/);
  });

  it('stop() leaves no process behind', async () => {
    const { childPid } = nodeRed.state();
    await switchCurrent(certDir, 'b');
    expect(await runRestart(nodeRed.restartCommand)).toMatchObject({ code: 0 });
    const running = nodeRed.state().childPid as number;
    expect(running).not.toBe(childPid);
    await nodeRed.stop();
    expect(isAlive(nodeRed.supervisorPid)).toBe(false);
    expect(isAlive(running)).toBe(false);
    expect(nodeRed.readLog()).toMatch(/SIGTERM: stopping Node-RED and exiting/);
  });
});

describe.each(RELEASES)('deploy/settings.js.example in $name', (release: NodeRedRelease) => {
  let dir: string;
  let nodeRed: NodeRedInstance | undefined;

  beforeAll(async () => {
    dir = await makeTempDir('nodered-example');
  });
  afterAll(async () => {
    await nodeRed?.stop();
    await removeTempDir(dir);
  });

  it('pasted into the default settings.js, makes Node-RED serve the current lineage', async () => {
    const certDir = join(dir, 'certs');
    const fingerprint = await makeLineage(join(certDir, 'lineages', 'x'), 'x.example.test');
    await switchCurrent(certDir, 'x');
    const example = await readFile(join(__dirname, '..', '..', 'deploy', 'settings.js.example'), 'utf8');
    const placeholder = 'const CERT_DIR = "/home/pi/.node-red/certs";';
    expect(example).toContain(placeholder);
    const userDir = join(dir, 'userdir');
    await mkdir(userDir);
    insertIntoSettings(prepareUserDir(userDir, release), example.replace(placeholder, `const CERT_DIR = ${JSON.stringify(certDir)};`));
    nodeRed = await startNodeRed({ userDir, release });
    await nodeRed.waitForTls(15_000);
    expect((await nodeRed.servedCertificate()).fingerprint256).toBe(fingerprint);
    expect(nodeRed.readLog()).toContain('Refreshing https settings every 0.016666666666666666 hours');
  });
});

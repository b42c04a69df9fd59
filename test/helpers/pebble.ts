/**
 * Starts a real Pebble ACME server and pebble-challtestsrv (Debian package `pebble`) on loopback
 * ports chosen at run time, in a fresh temp dir. Pebble resolves DNS-01 challenges only through
 * challtestsrv, whose TXT data the Cloudflare fake publishes (see test/fakes/cloudflare-api.ts).
 * Facts this relies on are in /work/shared/FACTS.md (TLS cert, env vars, management API).
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { httpsGet } from './https';
import { freePorts } from './ports';
import { startServerProcess, type ServerProcess } from './process';
import { makeTempDir, removeTempDir } from './tmp';

const execFileAsync = promisify(execFile);
const START_TIMEOUT_MS = 15_000;
const POLL_INTERVAL_MS = 50;
/** 90 days, like Let's Encrypt; Pebble's own default is five years. */
const DEFAULT_VALIDITY_SECONDS = 90 * 24 * 3600;

/** Options of startPebble. */
export interface PebbleOptions {
  /** certificateValidityPeriod in seconds (default 7776000 = 90 days). */
  validitySeconds?: number;
  /** PEBBLE_WFE_NONCEREJECT; unset keeps Pebble's default of 5 % rejected nonces. */
  nonceRejectPercent?: number;
  /** Run Pebble with `-strict` (default false). */
  strict?: boolean;
  /** 'address:port' Pebble resolves challenges at instead of challtestsrv (e.g. a real secondary). */
  dnsServer?: string;
}

/** A running Pebble + challtestsrv pair and what a client needs to use it. */
export interface PebbleEnv {
  /** ACME directory, e.g. https://127.0.0.1:PORT/dir */
  directoryUrl: string;
  /** Pebble's TLS certificate (PEM file): put it in NODE_EXTRA_CA_CERTS. */
  caCertPath: string;
  /** '127.0.0.1:PORT' of challtestsrv's DNS server: the value for DNS_RESOLVERS. */
  dnsResolver: string;
  /** Base URL of challtestsrv's management API (set-txt, clear-txt). */
  challtestsrvUrl: string;
  /** Base URL of Pebble's management API (roots, intermediates). */
  managementUrl: string;
  /** The temp dir holding config, TLS key and cert; removed by stop(). */
  dir: string;
  /** The issuing root and intermediate (PEM); they change at every Pebble start. */
  fetchRoots(): Promise<{ root: string; intermediate: string }>;
  /** Stops both processes, awaits their exit and removes `dir`. */
  stop(): Promise<void>;
}

/** A self-signed P-256 certificate for localhost and 127.0.0.1 (key and cert files in `dir`), for a loopback TLS listener. */
export async function makeTlsCert(dir: string): Promise<{ certPath: string; keyPath: string }> {
  const certPath = join(dir, 'pebble-tls-cert.pem');
  const keyPath = join(dir, 'pebble-tls-key.pem');
  await execFileAsync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-days', '30', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout', keyPath, '-out', certPath,
  ]);
  return { certPath, keyPath };
}

function pebbleEnv(opts: PebbleOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('PEBBLE_')) env[key] = value;
  }
  env.PEBBLE_VA_NOSLEEP = '1';
  env.PEBBLE_AUTHZREUSE = '0';
  if (opts.nonceRejectPercent !== undefined) {
    env.PEBBLE_WFE_NONCEREJECT = String(opts.nonceRejectPercent);
  }
  return env;
}

/** Resolves true when `url` answers at all over plain HTTP (any status). */
function httpAnswers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { method: 'GET', timeout: 1000, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(true));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

async function httpsAnswers200(url: string, ca: string): Promise<boolean> {
  try {
    return (await httpsGet(url, ca, 1000)).status === 200;
  } catch {
    return false;
  }
}

function describeFailure(processes: ServerProcess[], reason: string): Error {
  const details = processes
    .map((p) => `--- ${p.name} (${p.exitStatus() ?? 'still running'}) ---\n${p.output()}`)
    .join('\n');
  return new Error(`startPebble: ${reason}\n${details}`);
}

/** Polls until both servers answer; fails fast if a process exits, or after 15 s. */
async function waitUntilReady(
  processes: ServerProcess[],
  directoryUrl: string,
  challtestsrvUrl: string,
  ca: string,
): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let pebbleUp = false;
  let challUp = false;
  while (!(pebbleUp && challUp)) {
    const dead = processes.find((p) => p.exitStatus() !== undefined);
    if (dead) throw describeFailure(processes, `${dead.name} ${dead.exitStatus()} during start-up`);
    if (Date.now() > deadline) {
      throw describeFailure(processes, `not ready after ${START_TIMEOUT_MS / 1000} s`);
    }
    challUp = challUp || (await httpAnswers(`${challtestsrvUrl}/`));
    pebbleUp = pebbleUp || (await httpsAnswers200(directoryUrl, ca));
    if (!(pebbleUp && challUp)) await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
  }
}

interface Ports {
  acme: number;
  management: number;
  dns: number;
  challManagement: number;
}

function writePebbleConfig(dir: string, ports: Ports, tls: { certPath: string; keyPath: string },
  validitySeconds: number): Promise<void> {
  const config = {
    pebble: {
      listenAddress: `127.0.0.1:${ports.acme}`,
      managementListenAddress: `127.0.0.1:${ports.management}`,
      certificate: tls.certPath,
      privateKey: tls.keyPath,
      // Only used for http-01 / tls-alpn-01, which these tests never offer.
      httpPort: 5002,
      tlsPort: 5001,
      ocspResponderURL: '',
      externalAccountBindingRequired: false,
      certificateValidityPeriod: validitySeconds,
      // Pebble refuses orders for these names (rejectedIdentifier): how tests see an ACME refusal.
      domainBlocklist: ['blocked.test'],
    },
  };
  return writeFile(join(dir, 'pebble-config.json'), JSON.stringify(config, null, 2));
}

function startProcesses(dir: string, ports: Ports, opts: PebbleOptions): ServerProcess[] {
  const chall = startServerProcess('pebble-challtestsrv', 'pebble-challtestsrv', [
    '-dns01', `127.0.0.1:${ports.dns}`,
    '-management', `127.0.0.1:${ports.challManagement}`,
    '-http01', '', '-https01', '', '-tlsalpn01', '',
  ], pebbleEnv(opts), dir);
  const pebbleArgs = ['-config', join(dir, 'pebble-config.json'), '-dnsserver', opts.dnsServer ?? `127.0.0.1:${ports.dns}`];
  if (opts.strict) pebbleArgs.push('-strict');
  const pebble = startServerProcess('pebble', 'pebble', pebbleArgs, pebbleEnv(opts), dir);
  return [chall, pebble];
}

/** Starts Pebble and pebble-challtestsrv; resolves once both answer (typically < 1 s). */
export async function startPebble(opts: PebbleOptions = {}): Promise<PebbleEnv> {
  const dir = await makeTempDir('pebble');
  let processes: ServerProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(processes.map((p) => p.stop()));
    await removeTempDir(dir);
  };
  try {
    const tls = await makeTlsCert(dir);
    const ca = await readFile(tls.certPath, 'utf8');
    // One call, so the four ports are distinct; UDP too because challtestsrv's DNS uses both.
    const [acme, management, dns, challManagement] = (await freePorts(4, { udp: true })) as [
      number, number, number, number,
    ];
    const ports: Ports = { acme, management, dns, challManagement };
    await writePebbleConfig(dir, ports, tls, opts.validitySeconds ?? DEFAULT_VALIDITY_SECONDS);
    processes = startProcesses(dir, ports, opts);
    const directoryUrl = `https://127.0.0.1:${ports.acme}/dir`;
    const challtestsrvUrl = `http://127.0.0.1:${ports.challManagement}`;
    const managementUrl = `https://127.0.0.1:${ports.management}`;
    await waitUntilReady(processes, directoryUrl, challtestsrvUrl, ca);
    const fetchPem = async (path: string): Promise<string> => {
      const res = await httpsGet(`${managementUrl}${path}`, ca);
      if (res.status !== 200) throw new Error(`GET ${managementUrl}${path}: HTTP ${res.status}`);
      return res.body;
    };
    const fetchRoots = async (): Promise<{ root: string; intermediate: string }> => ({
      root: await fetchPem('/roots/0'),
      intermediate: await fetchPem('/intermediates/0'),
    });
    return {
      directoryUrl, caCertPath: tls.certPath, dnsResolver: `127.0.0.1:${ports.dns}`,
      challtestsrvUrl, managementUrl, dir, fetchRoots, stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

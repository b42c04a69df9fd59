/**
 * Small in-memory fakes of the renewal engine's ports (src/renewal/ports.ts), for fast unit
 * tests of the orchestrator and its bookkeeping: certificates are real (self-signed, made in
 * memory with @peculiar/x509), everything else is a map or a list.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import pino from 'pino';
import { HookError, LockedError } from '../../src/errors';
import { certificateInfo } from '../../src/store/pem';
import type { CertificateSet } from '../../src/store/types';
import type { Activator, Archive, CertStore, IssueRequest, Issuer, Locker, Reporter, StateStore } from '../../src/renewal/ports';
import type { RenewDeps } from '../../src/renewal/renew';
import { emptyState, type RenewalState } from '../../src/renewal/state';
import type { NotifyEvent } from '../../src/service/notify';
import type { ServiceStatus } from '../../src/service/status-file';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const DAY = 86_400_000;

const pem = (label: string, der: ArrayBuffer) =>
  `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END ${label}-----\n`;

let serial = 1;

/** A self-signed certificate set for `names`, valid `days` from `from`. */
export async function makeSet(names: string[], from: Date, days = 90): Promise<CertificateSet> {
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: (serial++).toString(16).padStart(6, '0'), name: `CN=${names[0]}`,
    notBefore: new Date(from.getTime() - 60_000), notAfter: new Date(from.getTime() + days * DAY),
    keys, signingAlgorithm: EC,
    extensions: [new x509.SubjectAlternativeNameExtension(names.map((value) => ({ type: 'dns' as const, value })))],
  });
  const certPem = cert.toString('pem').replace(/\r\n/g, '\n').trimEnd() + '\n';
  const privkey = pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return { privkey, cert: certPem, chain: '', fullchain: certPem };
}

/** CERT_DIR as a map of lineages and a `current` pointer. */
export class MemoryStore implements CertStore {
  sets = new Map<string, CertificateSet>();
  currentId: string | null = null;
  switches: string[] = [];
  /** How often the installed certificate was read. */
  reads = 0;
  private counter = 0;
  async installed() {
    this.reads += 1;
    if (!this.currentId) return null;
    const set = this.sets.get(this.currentId)!;
    return { id: this.currentId, info: certificateInfo(set.cert), pem: set.cert };
  }
  async lineages() {
    return [...this.sets.keys()].sort();
  }
  async read(id: string) {
    const set = this.sets.get(id);
    if (!set) throw new Error(`no lineage ${id}`);
    return set;
  }
  async install(set: CertificateSet) {
    const id = `20260101T0000${String(this.counter++).padStart(2, '0')}Z-${certificateInfo(set.cert).serial.slice(0, 6)}`;
    this.sets.set(id, set);
    await this.switchTo(id);
    return { id };
  }
  async switchTo(id: string) {
    if (!this.sets.has(id)) throw new Error(`no lineage ${id}`);
    this.currentId = id;
    this.switches.push(id);
  }
}

/** STATE_DIR/archive as a map; `failing` makes save throw. */
export class MemoryArchive implements Archive {
  sets = new Map<string, CertificateSet>();
  failing = false;
  async save(id: string, set: CertificateSet) {
    if (this.failing) throw new Error('EROFS: read-only file system');
    this.sets.set(id, set);
  }
  async ids() {
    return [...this.sets.keys()].sort();
  }
  async read(id: string) {
    return this.sets.get(id)!;
  }
}

/** renewal-state.json as a JSON copy, with a count of writes. */
export class MemoryState implements StateStore {
  value: RenewalState = emptyState();
  writes = 0;
  async read() {
    return JSON.parse(JSON.stringify(this.value)) as RenewalState;
  }
  async write(state: RenewalState) {
    this.writes += 1;
    this.value = JSON.parse(JSON.stringify(state)) as RenewalState;
  }
}

/** The lock: `heldBy` set means another run holds it. */
export class MemoryLock implements Locker {
  heldBy: string | null = null;
  taken = 0;
  async acquire(command: string) {
    if (this.heldBy) throw new LockedError(`another nrcert run (${this.heldBy}) holds the lock`);
    this.heldBy = command;
    this.taken += 1;
    return async () => {
      this.heldBy = null;
    };
  }
}

/** What the fake issuer does next: issue, fail before the order, or fail after placing it. */
export type IssueStep = 'ok' | { before: Error } | { after: Error } | { set: CertificateSet };

/** The ACME issuer: follows `steps` (then 'ok'), issuing real self-signed sets for the names. */
export class FakeIssuer implements Issuer {
  steps: IssueStep[] = [];
  requests: IssueRequest[] = [];
  orders = 0;
  left: string[] = [];
  constructor(private readonly clock: () => Date) {}
  async issue(request: IssueRequest) {
    this.requests.push(request);
    const step = this.steps.shift() ?? 'ok';
    if (step !== 'ok' && 'before' in step) throw step.before;
    request.onOrder();
    this.orders += 1;
    if (step !== 'ok' && 'after' in step) throw step.after;
    return step !== 'ok' && 'set' in step ? step.set : makeSet(request.names, this.clock());
  }
  leftovers() {
    return this.left;
  }
}

/** Node-RED: `failing` lineages (or all, with `failAll`) refuse activation. */
export class FakeActivator implements Activator {
  calls: string[] = [];
  failing = new Set<string>();
  failAll = false;
  async activate(lineage: { id: string }) {
    this.calls.push(lineage.id);
    if (this.failAll || this.failing.has(lineage.id)) throw new HookError('RESTART_COMMAND (/bin/false) exited with code 1');
  }
}

/** Notifications and status writes, collected. */
export class MemoryReporter implements Reporter {
  events: NotifyEvent[] = [];
  statuses: ServiceStatus[] = [];
  async notify(event: NotifyEvent) {
    this.events.push(event);
  }
  async writeStatus(status: ServiceStatus) {
    this.statuses.push(status);
  }
}

/** A full set of fakes with a settable clock, and the RenewDeps built from them. */
export function fakeDeps(names = ['example.test', '*.example.test'], start = new Date('2026-03-01T00:00:00Z')) {
  const clock = { now: start };
  const fakes = {
    clock,
    store: new MemoryStore(),
    archive: new MemoryArchive(),
    state: new MemoryState(),
    lock: new MemoryLock(),
    issuer: new FakeIssuer(() => clock.now),
    activator: new FakeActivator(),
    reporter: new MemoryReporter(),
    /** How often deps.issuer() was called (the ACME library and DNS SDK would be loaded). */
    counts: { issuer: 0 },
  };
  const deps: RenewDeps = {
    names,
    directoryUrl: 'https://acme.test/directory',
    logger: pino({ level: 'silent' }),
    now: () => clock.now,
    issuer: () => {
      fakes.counts.issuer += 1;
      return fakes.issuer;
    },
    store: fakes.store,
    archive: fakes.archive,
    lock: fakes.lock,
    state: fakes.state,
    activator: fakes.activator,
    ari: { lookup: async () => undefined },
    reporter: fakes.reporter,
  };
  return { deps, ...fakes };
}

/** The client_expiring notification: sent while a client certificate expires within 30 days, at most once a day. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, signCrl } from '../../src/clients/ca';
import { notifyExpiringClients } from '../../src/clients/notify';
import { ClientCaStore } from '../../src/clients/store';
import type { NotifyEvent } from '../../src/service/notify';
import { clientPath } from '../../src/store/state-dir';

let stateDir: string;
beforeEach(() => {
  stateDir = mkdtempSync(join(tmpdir(), 'nrcert-clients-notify-'));
});
afterEach(() => rmSync(stateDir, { recursive: true, force: true }));

const NOW = new Date('2026-12-01T08:00:00Z');
const later = (hours: number) => new Date(NOW.getTime() + hours * 3_600_000);

test('no client CA: nothing is sent', async () => {
  const sent: NotifyEvent[] = [];
  expect(await notifyExpiringClients(stateDir, NOW, async (e) => void sent.push(e))).toBe(false);
  expect(sent).toEqual([]);
});

test('a certificate 20 days from expiry: one client_expiring a day, naming it; a revoked one never', async () => {
  const store = new ClientCaStore(stateDir);
  const ca = await createCa('t', NOW);
  store.create(ca, await signCrl(ca, [], 1, NOW));
  const record = (name: string, days: number, revoked: boolean) => ({
    name, serial: `0${name.length}`, notBefore: NOW.toISOString(), notAfter: later(days * 24).toISOString(), revokedAt: revoked ? NOW.toISOString() : null, p12: 'legacy',
  });
  writeFileSync(clientPath(stateDir, 'registry'), JSON.stringify({ version: 1, crlNumber: 1, clients: [record('phone', 20, false), record('old', 2, true), record('laptop', 200, false)] }));
  const sent: NotifyEvent[] = [];
  const send = async (e: NotifyEvent) => void sent.push(e);
  expect(await notifyExpiringClients(stateDir, NOW, send)).toBe(true);
  expect(await notifyExpiringClients(stateDir, later(23), send)).toBe(false);
  expect(await notifyExpiringClients(stateDir, later(24), send)).toBe(true);
  expect(sent).toHaveLength(2);
  expect(sent[0]).toMatchObject({ type: 'client_expiring', names: ['phone'], clients: [{ name: 'phone', daysLeft: 20 }], message: expect.stringContaining('"phone" expires on') });
});

/**
 * The `client_expiring` notification: once a day at most, while any client certificate of the
 * client CA expires within 30 days (or has expired). Reads only clients.json (no X.509 library),
 * so the scheduled check can call it for free; without a client CA it does nothing.
 *
 * The day's notice is remembered in STATE_DIR/clients/notified.json.
 */
import { readRegularFileSync, writeFileAtomicSync } from '../store/atomic';
import { asOwnerOf } from '../privilege/as-owner';
import { clientPath } from '../store/state-dir';
import { buildNotifyEvent, type NotifyEvent } from '../service/notify';
import { expiringClients } from './policy';
import { ClientCaStore } from './store';

const DAY_MS = 86_400_000;

/** The event to send now, or null: nothing expiring, no CA, or one was sent less than a day ago. */
export function clientExpiringEvent(store: ClientCaStore, now: Date, lastSentAt: Date | null): NotifyEvent | null {
  if (!store.exists()) return null;
  if (lastSentAt && now.getTime() - lastSentAt.getTime() < DAY_MS) return null;
  const soon = expiringClients(store.registry().clients, now);
  if (soon.length === 0) return null;
  return buildNotifyEvent('client_expiring', {
    names: soon.map((s) => s.name),
    message: `Client certificates need replacing: ${soon.map((s) => s.reason).join('; ')}. Run nrcert clients add NAME (after nrcert clients revoke NAME) and import the new .p12.`,
    clients: soon.map(({ name, serial, notAfter, daysLeft }) => ({ name, serial, notAfter, daysLeft })),
  }, now);
}

/** Sends the client_expiring notification through `send` when it is due, and remembers that it did. */
export async function notifyExpiringClients(stateDir: string, now: Date, send: (event: NotifyEvent) => Promise<void>): Promise<boolean> {
  const store = new ClientCaStore(stateDir);
  const file = clientPath(stateDir, 'notified');
  let last: Date | null = null;
  try {
    const text = asOwnerOf(store.dir, () => readRegularFileSync(file));
    const at = text ? (JSON.parse(text) as { lastClientExpiringAt?: string }).lastClientExpiringAt : undefined;
    last = at ? new Date(at) : null;
  } catch {
    last = null;
  }
  const event = clientExpiringEvent(store, now, last);
  if (!event) return false;
  await send(event);
  asOwnerOf(store.dir, () => writeFileAtomicSync(file, `${JSON.stringify({ lastClientExpiringAt: now.toISOString() })}\n`, 0o600));
  return true;
}

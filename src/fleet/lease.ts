/** Keeps an etcd lease alive: one keepalive every third of its TTL, until stopped or it has ended. */
import type { Logger } from '../log';
import type { EtcdClient } from './etcd';

/** A lease being kept alive; `lost` resolves when etcd says it has ended (or cannot renew it in time). */
export interface LiveLease {
  stop(): void;
  lost: Promise<void>;
}

/**
 * Sends a keepalive every ttl/3 seconds. The lease is lost when etcd answers that it expired,
 * or when no keepalive has succeeded for a whole TTL (etcd will have expired it by then).
 */
export function keepLeaseAlive(etcd: EtcdClient, lease: string, ttlSeconds: number, logger: Logger): LiveLease {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let lastOk = Date.now();
  let markLost!: () => void;
  const lost = new Promise<void>((resolve) => (markLost = resolve));
  const tick = async () => {
    if (stopped) return;
    const alive = await etcd.keepAlive(lease).catch((err: Error) => {
      logger.debug({ error: err.message }, 'lease keepalive failed');
      return undefined;
    });
    if (alive) lastOk = Date.now();
    if (alive === false || Date.now() - lastOk >= ttlSeconds * 1000) {
      stopped = true;
      markLost();
      return;
    }
    if (!stopped) timer = setTimeout(tick, (ttlSeconds * 1000) / 3);
  };
  timer = setTimeout(tick, (ttlSeconds * 1000) / 3);
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
    lost,
  };
}

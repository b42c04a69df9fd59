/** Free loopback ports chosen at run time, so test runs never collide. */
import { createServer, type Server } from 'node:net';
import { createSocket, type Socket } from 'node:dgram';

interface HeldPort {
  port: number;
  release(): Promise<void>;
}

function listenTcp(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

function bindUdp(port: number): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(undefined);
    });
    socket.bind(port, '127.0.0.1', () => resolve(socket));
  });
}

/** Holds one port free on TCP (and on UDP too when `udp`), until released. */
async function holdPort(udp: boolean): Promise<HeldPort> {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const server = await listenTcp();
    const port = (server.address() as { port: number }).port;
    const socket = udp ? await bindUdp(port) : undefined;
    const release = async (): Promise<void> => {
      socket?.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    };
    if (!udp || socket) return { port, release };
    await release();
  }
  throw new Error('ports: no loopback port was free on both TCP and UDP after 20 attempts');
}

/**
 * Returns `count` distinct free ports on 127.0.0.1. All are held until every one is found, so
 * the same port is never handed out twice; `udp` also requires the UDP port (for DNS servers).
 */
export async function freePorts(count: number, opts: { udp?: boolean } = {}): Promise<number[]> {
  const held: HeldPort[] = [];
  try {
    for (let i = 0; i < count; i += 1) held.push(await holdPort(opts.udp ?? false));
    return held.map((h) => h.port);
  } finally {
    await Promise.all(held.map((h) => h.release()));
  }
}

/** Returns one free TCP port on 127.0.0.1 (also free on UDP when `udp`). */
export async function freePort(opts: { udp?: boolean } = {}): Promise<number> {
  const [port] = await freePorts(1, opts);
  return port as number;
}

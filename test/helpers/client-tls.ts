/** TLS clients for the client-certificate tests: HTTPS GETs and websocket upgrades, with or without a client certificate. */
import { execFileSync } from 'node:child_process';
import { request } from 'node:https';
import { connect } from 'node:tls';

/** A client certificate and key in PEM, as a browser would present them. */
export interface ClientIdentity {
  cert: string;
  key: string;
}

/** Key and certificate taken out of a .p12 with real openssl, using its password. */
export function identityFromP12(p12Path: string, password: string): ClientIdentity {
  const run = (args: string[]) => execFileSync('openssl', ['pkcs12', '-in', p12Path, '-passin', 'stdin', ...args], { input: `${password}\n`, encoding: 'utf8' });
  return { cert: run(['-clcerts', '-nokeys']), key: run(['-nocerts', '-nodes']) };
}

/** The answer to one GET: status and body, or the error that ended it (handshake refused, reset). */
export type GetOutcome = { status: number; body: string } | { error: string };

/** GETs `path` on 127.0.0.1:port over a fresh TLS connection (no session reuse), presenting `identity` when given. */
export function tlsGet(port: number, path: string, identity?: ClientIdentity, timeoutMs = 5000): Promise<GetOutcome> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, rejectUnauthorized: false, timeout: timeoutMs, ...(identity ?? {}) }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', (err) => resolve({ error: err.message }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) => resolve({ error: `${(err as NodeJS.ErrnoException).code ?? ''} ${err.message}` }));
    req.end();
  });
}

/**
 * Asks for a websocket upgrade of `path` on a fresh TLS connection and resolves with the status
 * line the server answered (e.g. "HTTP/1.1 101 Switching Protocols"), or the error.
 */
export function tlsUpgrade(port: number, path: string, identity?: ClientIdentity, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...(identity ?? {}) });
    let text = '';
    const done = (line: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(line);
    };
    const timer = setTimeout(() => done(text ? text.split('\r\n')[0] : 'timeout'), timeoutMs);
    socket.once('secureConnect', () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
    });
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (text.includes('\r\n')) done(text.split('\r\n')[0]);
    });
    socket.on('error', (err) => done(`error: ${err.message}`));
    socket.on('close', () => done(text ? text.split('\r\n')[0] : 'closed'));
  });
}

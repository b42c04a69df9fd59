/**
 * One DNS exchange over TCP (RFC 1035 §4.2.2: each message behind a two-byte length), one
 * connection per message. TCP rather than UDP: updates are small but their answers must not be
 * lost or truncated, and the server sees one signed request per connection. Bounded by
 * `timeoutMs` from connect to answer, and ended at once by `signal`.
 */
import { connect } from 'node:net';
import { AbortedError } from '../../errors';

/** Where the DNS server listens. */
export interface ServerAddress {
  host: string;
  port: number;
}

/** Why an exchange got no answer: refused, unreachable, timed out, closed early. */
export class TransportError extends Error {
  constructor(readonly kind: 'connect' | 'timeout' | 'closed', message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Sends `message` to `server` and resolves with the answer's bytes. */
export function exchange(server: ServerAddress, message: Buffer, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<Buffer> {
  if (opts.signal?.aborted) return Promise.reject(new AbortedError());
  return new Promise((resolve, reject) => {
    const socket = connect({ host: server.host, port: server.port });
    let received = Buffer.alloc(0);
    let connected = false;
    const finish = (err: Error | undefined, answer?: Buffer) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (err) reject(err);
      else resolve(answer!);
    };
    const onAbort = () => finish(new AbortedError());
    const timer = setTimeout(
      () => finish(new TransportError('timeout', `no answer within ${opts.timeoutMs / 1000} s`)),
      opts.timeoutMs,
    );
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      connected = true;
      const length = Buffer.alloc(2);
      length.writeUInt16BE(message.length);
      socket.write(Buffer.concat([length, message]));
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) {
        finish(undefined, received.subarray(2, 2 + received.readUInt16BE(0)));
      }
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      finish(new TransportError(connected ? 'closed' : 'connect', err.code ?? err.message, { cause: err }));
    });
    socket.once('close', () => finish(new TransportError('closed', 'the server closed the connection without an answer')));
  });
}

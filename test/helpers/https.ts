/** A small HTTPS GET that trusts one extra CA, like NODE_EXTRA_CA_CERTS does for a child process. */
import { Agent, get } from 'node:https';

/** Answer of httpsGet: status code and body text. */
export interface HttpsText {
  status: number;
  body: string;
}

/** GETs `url`, trusting the PEM certificate(s) in `ca`; resolves with status and body text. */
export function httpsGet(url: string, ca: string, timeoutMs = 5000): Promise<HttpsText> {
  const agent = new Agent({ ca, keepAlive: false });
  return new Promise((resolve, reject) => {
    const req = get(url, { agent, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
  }).finally(() => agent.destroy()) as Promise<HttpsText>;
}

/**
 * Publishes the Cloudflare fake's TXT records into a real authoritative server by RFC 2136 dynamic
 * update (Knot's `knsupdate`), so the records reach the zone the way any DNS host's API puts them
 * there: the primary bumps the serial and NOTIFYs its secondaries, which fetch them by IXFR.
 */
import { spawn } from 'node:child_process';
import { fqdn, type TxtPublisher } from './challtestsrv-publisher';

/** Serialised writer of TXT values into one zone on one primary (address:port), unsigned. */
export class NsupdatePublisher implements TxtPublisher {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly server: { address: string; port: number }, private readonly zone: string, private readonly ttl = 60) {}

  /** Adds one value to `name` (other values of that name stay). */
  add(name: string, value: string): Promise<void> {
    return this.enqueue([`update add ${fqdn(name)} ${this.ttl} TXT ${quote(value)}`]);
  }

  /** Makes `values` the complete set of TXT values of `name`, in one update message (atomic). */
  replace(name: string, values: string[]): Promise<void> {
    return this.enqueue([`update delete ${fqdn(name)} TXT`, ...values.map((v) => `update add ${fqdn(name)} ${this.ttl} TXT ${quote(v)}`)]);
  }

  /** Sends raw `update …` lines as one message (e.g. to change the zone's own records). */
  update(lines: string[]): Promise<void> {
    return this.enqueue(lines);
  }

  private enqueue(lines: string[]): Promise<void> {
    const run = this.queue.then(() => this.send(lines));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private send(lines: string[]): Promise<void> {
    const script = [`server ${this.server.address} ${this.server.port}`, `zone ${fqdn(this.zone)}`, ...lines, 'send', ''].join('\n');
    return new Promise((resolve, reject) => {
      const child = spawn('knsupdate', [], { stdio: ['pipe', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`knsupdate exited with ${code}: ${output.trim()}`))));
      child.stdin.end(script);
    });
  }
}

/** A TXT value as one quoted character-string (ACME values are base64url: nothing to escape). */
function quote(value: string): string {
  return `"${value.replace(/(["\\])/g, '\\$1')}"`;
}

/**
 * Publishes the fake's TXT records into pebble-challtestsrv, so Pebble resolves what the fake
 * holds. challtestsrv's `/clear-txt` drops every value of a host, so a delete clears the host and
 * re-adds the values that remain. Hosts need their trailing dot: without it `/set-txt` answers
 * 200 and serves nothing.
 */

/** Strips one pair of surrounding double quotes, as Cloudflare accepts TXT content both ways. */
export function unquoteTxt(content: string): string {
  return content.length >= 2 && content.startsWith('"') && content.endsWith('"')
    ? content.slice(1, -1)
    : content;
}

/** Turns a record name into the fully qualified host challtestsrv expects (trailing dot). */
export function fqdn(name: string): string {
  return name.endsWith('.') ? name : `${name}.`;
}

/** Where the Cloudflare fake puts the TXT records it holds, so a DNS server serves them. */
export interface TxtPublisher {
  /** Adds one value to `name` (other values of that name stay). */
  add(name: string, value: string): Promise<void>;
  /** Makes `values` the complete set of TXT values of `name` (none: the name has no TXT). */
  replace(name: string, values: string[]): Promise<void>;
}

/** Serialised writer of TXT values into one challtestsrv management API. */
export class ChalltestsrvPublisher implements TxtPublisher {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly managementUrl: string) {}

  /** Adds one value to `name` (other values of that name stay). */
  add(name: string, value: string): Promise<void> {
    return this.enqueue(() => this.post('/set-txt', { host: fqdn(name), value }));
  }

  /** Makes `values` the complete set of TXT values of `name` (none: the name has no TXT). */
  replace(name: string, values: string[]): Promise<void> {
    return this.enqueue(async () => {
      await this.post('/clear-txt', { host: fqdn(name) });
      for (const value of values) await this.post('/set-txt', { host: fqdn(name), value });
    });
  }

  /** Runs operations one at a time, so a clear and re-add never interleave with another add. */
  private enqueue(operation: () => Promise<void>): Promise<void> {
    const run = this.queue.then(operation);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async post(path: string, body: Record<string, string>): Promise<void> {
    const res = await fetch(`${this.managementUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`challtestsrv ${path} answered HTTP ${res.status}`);
  }
}

/**
 * The tree-shakable Cloudflare client (src/dns/cloudflare/sdk.ts, and the esbuild bundle the
 * package ships) sends byte for byte the requests the full SDK sends, for every call nrcert makes,
 * and fails the same way. A loopback recorder in front of the Cloudflare fake keeps each request's
 * method, URL, raw headers (names, case, order) and body bytes.
 */
import Cloudflare from 'cloudflare';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createCloudflareClient, type CloudflareClient } from '../../src/dns/cloudflare/sdk';
import { RECORD_TAG } from '../../src/dns/cloudflare/provider';
import { startCloudflareFake, type CloudflareFake } from '../fakes/cloudflare-api';
import { makeTempDir, removeTempDir } from '../helpers/tmp';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { bundleVendor } = require('../../deploy/package/build.js') as { bundleVendor(dir: string): Promise<string[]> };

const TOKEN = 'SENTINEL-sdk-compare-token-0123456789abcdef';

interface RawRequest {
  method: string;
  url: string;
  rawHeaders: string[];
  body: string;
}

let fake: CloudflareFake;
let recorder: Server;
let recorded: RawRequest[] = [];
let baseURL: string;
let vendorDir: string;

/** Forwards every request to the fake unchanged, keeping what arrived. */
function startRecorder(target: URL): Promise<Server> {
  const server = createServer(async (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    recorded.push({ method: req.method!, url: req.url!, rawHeaders: req.rawHeaders, body: body.toString('latin1') });
    const upstream = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode!, up.headers);
      up.pipe(res);
    });
    upstream.end(body);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

beforeAll(async () => {
  fake = await startCloudflareFake({ zones: [{ name: 'example.test' }], tokens: { [TOKEN]: {} } });
  recorder = await startRecorder(new URL(fake.baseURL));
  baseURL = `http://127.0.0.1:${(recorder.address() as AddressInfo).port}/client/v4`;
  vendorDir = await makeTempDir('vendor');
  await bundleVendor(vendorDir);
});
afterAll(async () => {
  await new Promise((r) => recorder?.close(r));
  await fake?.stop();
  await removeTempDir(vendorDir);
});

/** The options provider.ts passes to `new Cloudflare({...})` today. */
const options = () => ({ apiToken: TOKEN, apiKey: null, apiEmail: null, userServiceKey: null, baseURL, maxRetries: 2, timeout: 30_000 });

/** Every call nrcert makes, in a renewal's order; returns what came back and the requests sent. */
async function session(client: CloudflareClient): Promise<{ requests: RawRequest[]; results: unknown[] }> {
  recorded = [];
  const results: unknown[] = [];
  const zoneId = fake.zones[0].id;
  results.push((await client.user.tokens.verify())?.status);
  results.push((await client.zones.list({ name: 'example.test', per_page: 5 })).result.map((z) => z.name));
  results.push((await client.zones.get({ zone_id: zoneId }))?.name);
  const name = '_acme-challenge.example.test';
  const created = await client.dns.records.create({ zone_id: zoneId, type: 'TXT', name, content: '"token-value-1"', ttl: 60, comment: RECORD_TAG });
  const listed: string[] = [];
  for await (const r of client.dns.records.list({ zone_id: zoneId, type: 'TXT', name: { exact: name }, per_page: 100 })) listed.push(r.content ?? '');
  results.push(listed);
  await client.dns.records.delete(created!.id, { zone_id: zoneId });
  for (const bad of [() => client.zones.get({ zone_id: 'f'.repeat(32) }), () => client.dns.records.delete('0'.repeat(32), { zone_id: zoneId })]) {
    results.push(await bad().then(() => 'no error', (err: { constructor: { name: string }; status?: number; errors?: unknown }) => [err.constructor.name, err.status, err.errors]));
  }
  // The record id is random per run: the one place the requests may differ.
  const requests = recorded.map((r) => ({ ...r, url: r.url.replace(created!.id, '<record id>') }));
  return { requests, results };
}

test('the tree-shakable client sends byte-identical requests to the full SDK for every call nrcert makes', async () => {
  const full = await session(new Cloudflare(options()) as unknown as CloudflareClient);
  const shaken = await session(createCloudflareClient(options()));
  expect(full.requests.length).toBeGreaterThanOrEqual(8);
  expect(shaken.requests).toEqual(full.requests);
  expect(shaken.results).toEqual(full.results);
  expect(full.results[3]).toEqual(['"token-value-1"']);
});

test('the esbuild bundle the package ships sends the same requests and fails with the same errors', async () => {
  // sdk.ts as the package runs it: its requires answered by the vendor bundle.
  const bundle = join(vendorDir, 'cloudflare.js');
  const sdk = join(__dirname, '..', '..', 'src', 'dns', 'cloudflare', 'sdk.ts');
  let shippedClient: CloudflareClient | undefined;
  let bundledBase: unknown;
  jest.isolateModules(() => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    bundledBase = (require(bundle) as { BaseCloudflare: unknown }).BaseCloudflare;
    for (const spec of ['cloudflare/client', 'cloudflare/resources/zones/zones', 'cloudflare/resources/dns/records', 'cloudflare/resources/user/tokens/tokens']) {
      jest.doMock(spec, () => jest.requireActual(bundle));
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    shippedClient = (require(sdk) as typeof import('../../src/dns/cloudflare/sdk')).createCloudflareClient(options());
  });
  expect(Object.getPrototypeOf(shippedClient!.constructor)).toBe(bundledBase);
  const full = await session(new Cloudflare(options()) as unknown as CloudflareClient);
  const shipped = await session(shippedClient!);
  expect(shipped.requests).toEqual(full.requests);
  expect(shipped.results).toEqual(full.results);
});

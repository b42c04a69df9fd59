import type { ClientOptions } from 'cloudflare';
import type { PartialCloudflare } from 'cloudflare/tree-shakable';
import type { BaseZones } from 'cloudflare/resources/zones/zones';
import type { BaseRecords } from 'cloudflare/resources/dns/records';
import type { BaseTokens } from 'cloudflare/resources/user/tokens/tokens';

/** The part of the Cloudflare SDK nrcert uses: zones, DNS records and token verification. */
export type CloudflareClient = PartialCloudflare<{ zones: BaseZones; dns: { records: BaseRecords }; user: { tokens: BaseTokens } }>;

/**
 * Creates the Cloudflare API client from the SDK's tree-shakable parts (`BaseCloudflare` and the
 * three resources nrcert calls: zones.list/get, dns.records.create/list/delete,
 * user.tokens.verify). It takes the options of `new Cloudflare({...})` and sends byte for byte
 * the same requests (test/integration/cloudflare-sdk.test.ts), but bundled by esbuild it is
 * ~50 KB instead of the whole 120 MB SDK, which is what lets the package carry it. Required on
 * first use, like the SDK before it.
 *
 * Why not `createClient` from `cloudflare/tree-shakable`: it instantiates `BaseCloudflare`
 * itself, and the SDK builds User-Agent from the class name (`BaseCloudflare/JS 7.3.0` instead of
 * `Cloudflare/JS 7.3.0`; setting the header as a default moves it in the header order). So the
 * client here is a subclass named `Cloudflare`, and the resources are attached at their `_key`
 * paths as `createClient` attaches them.
 */
export function createCloudflareClient(options: ClientOptions): CloudflareClient {
  const { BaseCloudflare } = require('cloudflare/client') as typeof import('cloudflare/client');
  const { BaseZones } = require('cloudflare/resources/zones/zones') as typeof import('cloudflare/resources/zones/zones');
  const { BaseRecords } = require('cloudflare/resources/dns/records') as typeof import('cloudflare/resources/dns/records');
  const { BaseTokens } = require('cloudflare/resources/user/tokens/tokens') as typeof import('cloudflare/resources/user/tokens/tokens');
  class Cloudflare extends BaseCloudflare {}
  const client = new Cloudflare(options);
  const attach = (target: object, key: string, value: unknown) => Object.defineProperty(target, key, { value, configurable: true, enumerable: true, writable: true });
  attach(client, 'zones', new BaseZones(client));
  attach(client, 'dns', attach({}, 'records', new BaseRecords(client)));
  attach(client, 'user', attach({}, 'tokens', new BaseTokens(client)));
  return client as unknown as CloudflareClient;
}

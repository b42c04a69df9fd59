/**
 * Cloudflare's settings (lego's NewDefaultConfig): read and checked here, in the provider's own
 * folder, so config/config.ts knows no provider. Nothing here loads the SDK.
 */
import type { Config } from '../../config/config';
import { readSecretSetting, type SettingsContext } from '../../config/provider-settings';
import type { Secret } from '../../config/secret';
import { printable, readRequestTimeout, urlProblem } from '../../config/values';

/** Where a Cloudflare API token is created (named in every message about the token). */
export const TOKEN_PAGE = 'https://dash.cloudflare.com/profile/api-tokens';

/** The settings this provider reads. */
export const CLOUDFLARE_SETTINGS = [
  'CLOUDFLARE_API_TOKEN', 'CLOUDFLARE_API_TOKEN_FILE', 'CLOUDFLARE_ZONE_ID', 'CLOUDFLARE_BASE_URL', 'CLOUDFLARE_TIMEOUT',
] as const;

/** CLOUDFLARE_*: the token (absent when the command needs none), zone id, API base URL, request timeout. */
export interface CloudflareSettings {
  apiToken?: Secret;
  zoneId?: string;
  baseURL?: string;
  /** CLOUDFLARE_TIMEOUT: how long one Cloudflare API request may go unanswered. */
  timeoutMs: number;
}

/** Reads CLOUDFLARE_*, pushing every problem found onto ctx.problems. */
export function readCloudflareSettings(ctx: SettingsContext): CloudflareSettings {
  const { env, problems } = ctx;
  const apiToken = readSecretSetting(ctx, 'CLOUDFLARE_API_TOKEN', `create a token with Zone:Read and DNS:Edit at ${TOKEN_PAGE}`);
  const zoneId = env.CLOUDFLARE_ZONE_ID || undefined;
  if (zoneId && !/^[0-9a-f]{32}$/i.test(zoneId)) {
    problems.push('CLOUDFLARE_ZONE_ID is not a 32-character hex zone id (Cloudflare dashboard → Overview → Zone ID); or leave it empty');
  }
  const baseURL = env.CLOUDFLARE_BASE_URL || undefined;
  const badBase = baseURL && urlProblem(baseURL, ['http:', 'https:']);
  if (badBase) problems.push(`CLOUDFLARE_BASE_URL: "${printable(baseURL)}" ${badBase} (e.g. https://api.cloudflare.com/client/v4)`);
  return { apiToken, zoneId, baseURL, timeoutMs: readRequestTimeout(env, 'CLOUDFLARE_TIMEOUT', problems) };
}

/** Cloudflare's settings when it is the DNS provider in use, else undefined. */
export function cloudflareSettings(config: Config): CloudflareSettings | undefined {
  return config.dns.provider === 'cloudflare' ? (config.dns.settings as CloudflareSettings) : undefined;
}

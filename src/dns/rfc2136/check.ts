/**
 * `nrcert doctor`'s check of RFC2136_*: a signed SOA query per challenge name proves the key
 * (rfc2136.key: the server knows it, the secret signs, the clocks agree) and finds the zone each
 * name's TXT record goes into (rfc2136.zone). Nothing is changed at the server.
 */
import { challengeRecordName } from '../../config/domains';
import { fail, ok, skip, type CheckResult } from '../../doctor/types';
import type { Logger } from '../../log';
import type { Rfc2136Settings } from './config';
import { Rfc2136Error } from './errors';
import { Rfc2136DnsProvider } from './provider';

/** The doctor lines for RFC 2136: rfc2136.key, then rfc2136.zone. */
export async function checkRfc2136(settings: Rfc2136Settings, ctx: { domains: string[]; logger: Logger }): Promise<CheckResult[]> {
  if (!settings.secret) return [skip('rfc2136.key', 'RFC2136_TSIG_SECRET is not set', 'set RFC2136_TSIG_SECRET or RFC2136_TSIG_SECRET_FILE')];
  const provider = new Rfc2136DnsProvider({ ...settings, secret: settings.secret, logger: ctx.logger });
  const names = [...new Set(ctx.domains.map(challengeRecordName))];
  const zones: string[] = [];
  for (const name of names) {
    try {
      zones.push(`${name} in ${await provider.zoneOf(name)}`);
    } catch (err) {
      const keyFailed = err instanceof Rfc2136Error && (err.tsigError !== undefined || err.transient);
      const message = (err as Error).message;
      if (keyFailed) return [fail('rfc2136.key', message), skip('rfc2136.zone', 'not checked: the key check failed')];
      return [ok('rfc2136.key', keyAccepted(provider, settings)), fail('rfc2136.zone', message)];
    }
  }
  return [ok('rfc2136.key', keyAccepted(provider, settings)), ok('rfc2136.zone', `the TXT records go to ${zones.join(', ')}`)];
}

function keyAccepted(provider: Rfc2136DnsProvider, settings: Rfc2136Settings): string {
  return `${provider.client.serverLabel} accepts the TSIG key "${settings.keyName}" (${settings.algorithm}) and signs its answers with it`;
}

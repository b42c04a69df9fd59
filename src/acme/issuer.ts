import type { Logger } from '../log';
import type { Config } from '../config/config';
import { challengeRecordName } from '../config/domains';
import type { DnsProvider } from '../dns/provider';
import { AcmeError } from '../errors';
import type { Issuer, IssueRequest } from '../renewal/ports';
import type { CertificateSet } from '../store/types';
import type { Progress } from '../util/progress';
import { forgetAccount, openAccount } from './account';
import { obtainCertificate } from './order';

/** What the ACME issuer needs besides the settings. */
export interface AcmeIssuerDeps {
  config: Config;
  logger: Logger;
  dns: DnsProvider;
  signal?: AbortSignal;
  progress?: Progress;
}

/**
 * Obtains certificates over ACME with DNS-01 through a DnsProvider. Before any order exists it
 * checks the provider can see every zone and sweeps TXT records an interrupted run left, so a bad
 * token or a typo costs no order; an account the CA forgot is registered again once.
 */
export function acmeIssuer(deps: AcmeIssuerDeps): Issuer {
  const { config, logger, dns, signal } = deps;
  return {
    async issue(request: IssueRequest): Promise<CertificateSet> {
      const fqdns = [...new Set(request.names.map(challengeRecordName))];
      for (const fqdn of fqdns) await dns.zoneOf(fqdn);
      await dns.sweep(fqdns);
      const order = async () => {
        const client = await openAccount(config, request.directoryUrl, { logger, signal });
        request.onOrder();
        return obtainCertificate({
          client, names: request.names, keyType: config.acme.keyType, dns, logger, signal, replaces: request.replaces, profile: config.acme.profile,
          progress: deps.progress, resolvers: config.dns.resolvers, propagationTimeoutMs: config.dns.propagationTimeoutMs,
        });
      };
      try {
        return await order();
      } catch (err) {
        if (!(err instanceof AcmeError) || err.problemType !== 'accountDoesNotExist') throw err;
        logger.warn('the ACME server no longer knows our account; registering again');
        await forgetAccount(config.stateDir, request.directoryUrl);
        return order();
      }
    },
    leftovers: () => dns.leftovers().map((r) => r.name),
  };
}

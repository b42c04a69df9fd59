import type { Logger } from '../log';
import type { Config } from '../config/config';
import { challengeRecordName } from '../config/domains';
import type { DnsProvider } from '../dns/provider';
import { dnsCnameLookup } from '../dns/cname-lookup';
import type { CnameLookup } from '../dns/delegation';
import { AcmeError } from '../errors';
import type { Issuer, IssueRequest } from '../renewal/ports';
import type { CertificateSet } from '../store/types';
import type { Progress } from '../util/progress';
import { forgetAccount, openAccount } from './account';
import { planChallengeNames } from './challenge-plan';
import { obtainCertificate } from './order';

/** What the ACME issuer needs besides the settings. */
export interface AcmeIssuerDeps {
  config: Config;
  logger: Logger;
  dns: DnsProvider;
  signal?: AbortSignal;
  progress?: Progress;
  /** How CNAMEs at the challenge names are looked up (the real DNS, as DNS_RESOLVERS says, unless told). */
  cnameLookup?: CnameLookup;
}

/**
 * Obtains certificates over ACME with DNS-01 through a DnsProvider. Before any order exists it
 * follows CNAME delegations of the challenge names, checks the provider can see the zone of
 * every name a value goes to and sweeps TXT records an interrupted run left there, so a bad
 * token, a typo or a broken CNAME costs no order; an account the CA forgot is registered again once.
 */
export function acmeIssuer(deps: AcmeIssuerDeps): Issuer {
  const { config, logger, dns, signal } = deps;
  return {
    async issue(request: IssueRequest): Promise<CertificateSet> {
      const names = [...new Set(request.names.map(challengeRecordName))];
      const lookup = deps.cnameLookup ?? dnsCnameLookup({ resolvers: config.dns.resolvers });
      const publishAt = await planChallengeNames(names, { dns, lookup, logger, signal });
      await dns.sweep([...new Set(Object.values(publishAt))]);
      const order = async () => {
        const client = await openAccount(config, request.directoryUrl, { logger, signal });
        request.onOrder();
        return obtainCertificate({
          client, names: request.names, keyType: config.acme.keyType, dns, logger, signal, replaces: request.replaces, profile: config.acme.profile,
          progress: deps.progress, publishAt, resolvers: config.dns.resolvers, propagationTimeoutMs: config.dns.propagationTimeoutMs,
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

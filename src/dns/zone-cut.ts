/**
 * The zone that holds a name, found through the machine's resolver the way a resolver finds it:
 * the longest suffix (two labels at least) that has NS records. Used where no provider can say
 * (the zone of a CNAME'd challenge name the token cannot see, `doctor` before any API call).
 */
import { promises as dns } from 'node:dns';

/** Looks up the NS records of a name. */
export type ResolveNs = (name: string) => Promise<string[]>;

/** NS lookups through the system's resolvers, with a short timeout. */
export function systemResolveNs(timeoutMs: number): ResolveNs {
  const resolver = new dns.Resolver({ timeout: timeoutMs, tries: 2 });
  return (name) => resolver.resolveNs(name);
}

/** The zone holding `name`: the longest suffix (two labels at least) that has NS records; throws when none has. */
export async function findZone(name: string, resolveNs: ResolveNs): Promise<string> {
  const labels = name.replace(/\.$/, '').split('.');
  for (let i = 0; i + 2 <= labels.length; i++) {
    const candidate = labels.slice(i).join('.');
    try {
      if ((await resolveNs(candidate)).length > 0) return candidate;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENODATA' && code !== 'ENOTFOUND') {
        throw new Error(`looking up the nameservers of ${candidate} through this machine's resolver failed (${code})`);
      }
    }
  }
  throw new Error(`no nameservers were found for ${name} or any parent domain: is the domain registered and delegated?`);
}

import { domainToASCII } from 'node:url';

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** The most names Let's Encrypt puts on one certificate (its "names per certificate" limit). */
export const MAX_NAMES = 100;

/**
 * Parses DOMAINS (a comma list) into lower-case ASCII names, reporting each bad entry with what
 * is wrong: a URL instead of a name, a wildcard not in the leftmost label, a missing dot, a
 * character DNS does not allow, more names than Let's Encrypt takes. Returns the names and the problems found.
 */
export function parseDomains(raw: string): { names: string[]; problems: string[] } {
  const names: string[] = [];
  const problems: string[] = [];
  for (const entry of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    const problem = domainProblem(entry);
    if (problem) {
      problems.push(`DOMAINS: "${entry}" ${problem}`);
      continue;
    }
    const name = toAscii(entry);
    if (!names.includes(name)) names.push(name);
  }
  if (names.length > MAX_NAMES) {
    problems.push(`DOMAINS: ${names.length} names (after dropping duplicates); Let's Encrypt allows at most ${MAX_NAMES} on one certificate: split them`);
  }
  if (names.length === 0 && problems.length === 0) {
    problems.push('DOMAINS is empty: set it to your domain and its wildcard, e.g. DOMAINS=example.com,*.example.com');
  }
  return { names, problems };
}

function toAscii(entry: string): string {
  const lower = entry.toLowerCase().replace(/\.$/, '');
  if (lower.startsWith('*.')) return `*.${domainToASCII(lower.slice(2))}`;
  return domainToASCII(lower);
}

/** Why `entry` is not a certificate name (a DNS name, optionally `*.` in front), or null. */
export function domainProblem(entry: string): string | null {
  if (/^[a-z]+:\/\//i.test(entry) || entry.includes('/')) {
    return 'looks like a URL: give only the name, e.g. example.com';
  }
  if (/\s/.test(entry)) return 'contains a space: separate names with commas';
  const name = entry.toLowerCase().replace(/\.$/, '');
  const bare = name.startsWith('*.') ? name.slice(2) : name;
  if (bare.includes('*')) return 'has a wildcard that is not the whole leftmost label: use *.example.com';
  const ascii = domainToASCII(bare);
  if (!ascii) return 'is not a valid domain name';
  const labels = ascii.split('.');
  if (labels.length < 2) return 'has no dot: give the full name, e.g. example.com';
  if (ascii.length > 253) return 'is longer than 253 characters';
  const bad = labels.find((l) => !LABEL.test(l));
  if (bad !== undefined) return `has an invalid label "${bad}" (letters, digits and inner hyphens only)`;
  if (/^[0-9]+$/.test(labels[labels.length - 1])) return 'is an IP address: certificates here are for domain names';
  return null;
}

/** The name an ACME DNS-01 TXT record lives at for a certificate name (RFC 8555 §8.4). */
export function challengeRecordName(name: string): string {
  return `_acme-challenge.${name.replace(/^\*\./, '')}`;
}

/** The distinct names under the certificate's names: `*.example.com` and `example.com` give one. */
export function baseDomains(names: string[]): string[] {
  return [...new Set(names.map((n) => n.replace(/^\*\./, '').toLowerCase()))];
}

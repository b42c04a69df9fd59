/**
 * The only thing the ACME engine knows about DNS: publish a TXT value, take it away again.
 * Each provider lives in its own folder (dns/cloudflare/ first) behind this interface, as lego
 * does it, so another provider is one folder more and no change to the engine.
 */
export interface DnsProvider {
  /** Provider name used in messages, e.g. "cloudflare". */
  readonly name: string;
  /**
   * Set by a provider that holds ONE TXT value per name, where a new value replaces the old
   * (DuckDNS): the apex and wildcard authorizations of a name cannot be answered together. The
   * order engine then validates one authorization at a time (publish its value, wait until
   * exactly that value is seen, tell the CA, wait until valid, then the next), pausing
   * `intervalMs` between two, and cleans up at the end (lego's `challenge.SequentialProvider`,
   * whose `Sequential()` returns the same pause). Absent: every value is published at once.
   */
  readonly sequential?: { intervalMs: number };
  /** Publishes `value` at `fqdn` (no trailing dot) and returns a handle to remove exactly it. */
  present(fqdn: string, value: string): Promise<PresentedRecord>;
  /** Removes exactly the record `present` created (by id: apex and wildcard share one name). */
  cleanup(record: PresentedRecord): Promise<void>;
  /** Removes records this tool left at these names in an earlier, crashed run; returns how many. */
  sweep(fqdns: string[]): Promise<number>;
  /** The zone apex that holds `fqdn` (used to find its authoritative nameservers). */
  zoneOf(fqdn: string): Promise<string>;
  /**
   * The records this provider instance created, or found left behind by an earlier run, and
   * could not delete: part of the run's outcome, so the user can remove them by hand. They stay
   * journalled in STATE_DIR, and the next run's sweep tries again.
   */
  leftovers(): LeftoverRecord[];
}

/** A TXT record left behind: its name and, when known, the provider's record id. */
export interface LeftoverRecord {
  name: string;
  id?: string;
}

/** A TXT record that `present` created. */
export interface PresentedRecord {
  fqdn: string;
  value: string;
  /** Provider's record id. */
  id: string;
  /** Provider's zone id. */
  zoneId: string;
}

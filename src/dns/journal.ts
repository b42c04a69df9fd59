/**
 * STATE_DIR/txt-records.json: the TXT records a provider is publishing. An entry is written
 * before the create request and gets its record id after the answer, so a crash in any window
 * leaves something the next run's sweep can find, by id or by name and value, even where the
 * DNS host does not keep the comment nrcert tags its records with (issue 9 §2). Entries go once
 * the record is deleted. Written atomically; one writer at a time within the process (the
 * renewal lock keeps other processes out).
 */
import { readState, writeState } from '../store/state';
import { statePath } from '../store/state-dir';

/** One record being published. */
export interface JournalEntry {
  /** The provider that created it, e.g. cloudflare. */
  provider: string;
  fqdn: string;
  value: string;
  zoneId: string;
  /** The provider's record id, once the create was answered. */
  id?: string;
  /** When the create was about to be sent (ISO 8601). */
  at: string;
}

interface JournalFile {
  records: JournalEntry[];
}

/** The journal in `stateDir`, for records of `provider`. */
export class TxtRecordJournal {
  readonly #path: string;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(stateDir: string, private readonly provider: string) {
    this.#path = statePath(stateDir, 'txtRecords');
  }

  /** The entries of this provider. */
  async entries(): Promise<JournalEntry[]> {
    await this.#queue.catch(() => undefined);
    return (await this.#read()).records.filter((e) => e.provider === this.provider);
  }

  /** Notes a record about to be created. */
  add(fqdn: string, value: string, zoneId: string): Promise<void> {
    return this.#update((records) => [...records, { provider: this.provider, fqdn, value, zoneId, at: new Date().toISOString() }]);
  }

  /** Gives the entry of `fqdn` + `value` its record id. */
  setId(fqdn: string, value: string, id: string): Promise<void> {
    return this.#update((records) => records.map((e) => (this.#is(e, fqdn, value) && !e.id ? { ...e, id } : e)));
  }

  /** Drops the entry with record id `id`, and the one of `fqdn` + `value` that has no id yet. */
  remove(match: { id?: string; fqdn: string; value: string }): Promise<void> {
    const gone = (e: JournalEntry) => e.provider === this.provider && ((match.id !== undefined && e.id === match.id) || (!e.id && this.#is(e, match.fqdn, match.value)));
    return this.#update((records) => records.filter((e) => !gone(e)));
  }

  #is(e: JournalEntry, fqdn: string, value: string): boolean {
    return e.provider === this.provider && e.fqdn === fqdn && e.value === value;
  }

  async #read(): Promise<JournalFile> {
    const file = await readState<Partial<JournalFile>>(this.#path, { records: [] });
    return { records: Array.isArray(file.records) ? file.records : [] };
  }

  /** Read, change, write atomically; one change at a time. */
  #update(change: (records: JournalEntry[]) => JournalEntry[]): Promise<void> {
    const next = this.#queue.catch(() => undefined).then(async () => {
      const file = await this.#read();
      await writeState(this.#path, { records: change(file.records) });
    });
    this.#queue = next;
    return next;
  }
}

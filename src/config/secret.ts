import { inspect } from 'node:util';

/**
 * A secret value (API token, EAB key) that cannot leak by accident: printing, string
 * interpolation, JSON and util.inspect all show `[redacted]`. Only `reveal()` gives the value,
 * and only the code that hands it to a library calls it.
 */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  /** The real value: pass it straight to the library that needs it, never to a log or message. */
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return '[redacted]';
  }
  toJSON(): string {
    return '[redacted]';
  }
  [inspect.custom](): string {
    return '[redacted]';
  }
}

// The secret's wrapper, in a module of its own so that holding one does not load the vault client code.

import { inspect } from 'node:util';

/** A password that does not print itself: String(), JSON and util.inspect all give [redacted]. */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  /** The only way to the value; call it where the value is used, nowhere else. */
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
    return 'Secret([redacted])';
  }
}

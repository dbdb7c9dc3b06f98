import { inspect } from 'node:util';

/**
 * A value read from the environment (`${NAME}` in the OKR file). It never prints itself:
 * JSON, string conversion and util.inspect (pino, console.log) all show `[secret NAME]`.
 * Only `reveal()` gives the value, at the place it is sent to the source.
 */
export class Secret {
  readonly #value: string;
  readonly name: string;

  constructor(name: string, value: string) {
    this.name = name;
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return `[secret ${this.name}]`;
  }

  toJSON(): string {
    return this.toString();
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

// Zod field builders whose messages say what was expected and how to fix it. Messages never
// contain the value of a field that may hold a secret: only `show()` prints values, and only the
// builders for plain fields call it.
import { z } from 'zod';
import { readDuration } from './duration.js';
import { didYouMean } from './suggest.js';

/** What a value is, in words, without the value itself. */
export function kindOf(input: unknown): string {
  if (input === null) return 'empty';
  if (Array.isArray(input)) return 'a list';
  if (input instanceof Date) return 'a date';
  switch (typeof input) {
    case 'string':
      return 'text';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'true/false';
    case 'object':
      return 'a mapping';
    default:
      return typeof input;
  }
}

/** The value as it could appear in the file, for messages about plain (non-secret) fields. */
export function show(input: unknown): string {
  if (typeof input === 'string') return JSON.stringify(input.length > 60 ? `${input.slice(0, 57)}...` : input);
  if (typeof input === 'number' || typeof input === 'boolean') return String(input);
  return kindOf(input);
}

interface IssueLike {
  input?: unknown;
}

/** `is required; add <example>` when missing, `is empty; ...` for null, else `must be <expected> ...`. */
function typeError(expected: string, example: string) {
  return (iss: IssueLike): string => {
    if (iss.input === undefined) return `is required; add ${example}`;
    if (iss.input === null) return `is empty; write ${example}`;
    return `must be ${expected}, not ${kindOf(iss.input)}; write ${example}`;
  };
}

/** Non-empty text. `example` is a whole line such as `title: Reduce deployment time by 50%`. */
export function text(example: string) {
  return z.string({ error: typeError('text', example) }).min(1, { error: `is empty; write ${example}` });
}

/** Text that may hold a secret: never echoed. May be empty (an unset optional variable). */
export function secretText(example: string) {
  return z.string({ error: typeError('text', example) });
}

export function number(example: string) {
  return z.number({ error: typeError('a number', example) });
}

/** Plain text that may be empty (e.g. `user: ${SMTP_USER:-}` for a server without login). */
export function optionalText(example: string) {
  return z.string({ error: typeError('text', example) });
}

/**
 * true or false. The text `true`/`false` is accepted too: that is what `${NAME}` substitution
 * gives (`secure: ${SMTP_SECURE:-false}`).
 */
export function flag(example: string) {
  return z
    .union([z.boolean(), z.string()], { error: typeError('true or false', example) })
    .transform((value, ctx) => {
      if (typeof value === 'boolean') return value;
      const word = value.trim().toLowerCase();
      if (word === 'true' || word === 'false') return word === 'true';
      ctx.addIssue({ code: 'custom', message: `is ${show(value)}, not true or false; write ${example}` });
      return z.NEVER;
    });
}

/**
 * A TCP port, 1 to 65535. Digits as text are accepted too: that is what `${NAME}` substitution
 * gives (`port: ${SMTP_PORT:-25}`).
 */
export function port(example: string) {
  return z
    .union([z.number(), z.string()], { error: typeError('a port number', example) })
    .transform((value, ctx) => {
      const text = typeof value === 'string' ? value.trim() : '';
      const parsed = typeof value === 'number' ? value : /^\d+$/.test(text) ? Number(text) : NaN;
      if (Number.isInteger(parsed) && parsed >= 1 && parsed <= 65_535) return parsed;
      const problem = Number.isNaN(parsed) ? 'not a port number' : 'not a port number (1 to 65535)';
      ctx.addIssue({ code: 'custom', message: `is ${show(value)}, ${problem}; write ${example}` });
      return z.NEVER;
    });
}

/** A list of non-empty strings; `each` checks and explains a single item. */
export function list(example: string, each?: (item: string) => string | null) {
  const item = z.string({ error: typeError('text', example) }).superRefine((value, ctx) => {
    const problem = value === '' ? `is empty; write ${example}` : (each?.(value) ?? null);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
  return z.array(item, { error: typeError('a list', example) });
}

/** One of a fixed set of words, with a "did you mean" for near misses and known synonyms. */
export function oneOf<const T extends readonly [string, ...string[]]>(
  values: T,
  example: string,
  synonyms: Record<string, T[number]> = {},
) {
  const choices = values.join(', ');
  return z.enum(values, {
    error: (iss: IssueLike) => {
      if (typeof iss.input !== 'string') return typeError(`one of ${choices}`, example)(iss);
      const synonym = synonyms[iss.input.toLowerCase()];
      const hint = synonym ? `did you mean ${synonym}?` : didYouMean(iss.input, values);
      return `is ${show(iss.input)}; ${hint ? `${hint} (one of ${choices})` : `use one of ${choices}`}`;
    },
  });
}

/** A duration such as `28d`, turned into milliseconds; `allowZero` also takes `0s`. */
export function duration(example: string, options: { allowZero?: boolean } = {}) {
  return z.string({ error: typeError('a duration such as 28d', example) }).transform((value, ctx) => {
    const result = readDuration(value, options);
    if ('error' in result) {
      ctx.addIssue({ code: 'custom', message: result.error });
      return z.NEVER;
    }
    return result.ms;
  });
}

/** An http(s) URL; trailing slashes are dropped so that paths can be appended. */
export function httpUrl(example: string) {
  return z.string({ error: typeError('a URL', example) }).transform((value, ctx) => {
    if (!isHttpUrl(value)) {
      ctx.addIssue({ code: 'custom', message: `is ${show(value)}, not an http(s) URL; write ${example}` });
      return z.NEVER;
    }
    return value.replace(/\/+$/, '');
  });
}

export function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * A mapping with exactly these keys; an unknown key is reported at the key, with a near match.
 * `check` looks across its fields; it runs even when some of them have problems, so it gets the
 * mapping as written and must check the types of the fields it reads.
 */
export function mapping<S extends z.ZodRawShape>(
  shape: S,
  example: string,
  check?: (value: Record<string, unknown>, ctx: z.RefinementCtx) => void,
) {
  const known = Object.keys(shape);
  return z
    .object(shape, { error: typeError('a mapping', example) })
    .catchall(z.unknown())
    .superRefine(
      (value, ctx) => {
        for (const key of Object.keys(value)) {
          if (known.includes(key)) continue;
          ctx.addIssue({ code: 'custom', path: [key], params: { at: 'key' }, message: unknownKeyMessage(key, known) });
        }
        check?.(value, ctx);
      },
      // Report unknown keys even when a known key's value is wrong: every problem at once.
      { when: (payload) => payload.value !== null && typeof payload.value === 'object' },
    )
    .transform((value) => value as z.output<z.ZodObject<S>>);
}

export function unknownKeyMessage(key: string, known: readonly string[]): string {
  return `is not a known key; ${didYouMean(key, known) || `remove it (known keys here: ${known.join(', ')})`}`;
}

/** An optional mapping where `key:` with nothing under it means "all defaults". */
export function emptyAsDefaults<T extends z.ZodType>(schema: T) {
  return z.preprocess((value) => (value === null ? {} : value), schema);
}

/**
 * Option validation, run once when a plugin is constructed (never on the hot path).
 *
 * A tiny schema language of our own rather than a schema library: the checks we need are few, the
 * messages must follow one format (`rateLimit: "minute" must be a positive integer, got -1`),
 * secrets must never be echoed, and unknown options must be reported with a suggestion, so a typo
 * cannot silently turn a policy off.
 */
import { ConfigError } from './errors';
import { isLogger, LOGGER_EXPECTED, type Logger } from './logger';

/**
 * A check that turns an unknown option value into a typed one, or throws `ConfigError`.
 * `MaybeMissing` is true for optional options without a default: the resolved config may lack them.
 */
export interface Validator<T, MaybeMissing extends boolean = false> {
  /** Type-level marker only. */
  readonly maybeMissing?: MaybeMissing;
  /** What the value must be, in words: "a positive integer". */
  readonly expected: string;
  /** Whether a missing value is allowed. */
  readonly optional: boolean;
  /** Value used when the option is missing (only for optional validators). */
  readonly fallback?: () => T;
  /** Whether a wrong value may be quoted in the error message (false for secrets). */
  readonly quote: boolean;
  check(value: unknown, path: string, where: Where): T;
}

/** Where a validation runs: the plugin name, for the messages. */
export interface Where {
  readonly plugin: string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Shape = Record<string, Validator<any, boolean>>;
type Out<V> = V extends Validator<infer T, boolean> ? T : never;
/** The typed result of validating an object against a shape. */
export type Infer<S extends Shape> = {
  -readonly [K in keyof S as S[K] extends Validator<unknown, true> ? never : K]: Out<S[K]>;
} & {
  -readonly [K in keyof S as S[K] extends Validator<unknown, true> ? K : never]?: Out<S[K]>;
};

/** Describes a wrong value for a message without ever echoing a secret. */
export function describeValue(value: unknown, quote = true): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return quote ? `[${value.map((v) => describeValue(v)).join(', ')}]`.slice(0, 80) : 'an array';
  switch (typeof value) {
    case 'undefined':
      return 'nothing';
    case 'string':
      return quote ? JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value) : 'a string';
    case 'number':
    case 'boolean':
    case 'bigint':
      return quote ? String(value) : `a ${typeof value}`;
    case 'function':
      return 'a function';
    default:
      return 'an object';
  }
}

/** Throws the `ConfigError` for `path` with the house message format. */
export function fail(where: Where, path: string, expected: string, value: unknown, quote = true): never {
  throw new ConfigError(`${where.plugin}: "${path}" must be ${expected}, got ${describeValue(value, quote)}`, path);
}

function make<T>(expected: string, check: (value: unknown, path: string, where: Where) => T, quote = true): Validator<T> {
  return { expected, optional: false, quote, check };
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Edit distance, for "did you mean" on unknown options. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

function suggest(key: string, known: string[]): string {
  let best: string | undefined;
  let bestScore = Infinity;
  for (const k of known) {
    const d = distance(key, k);
    if (d < bestScore) [best, bestScore] = [k, d];
  }
  return best !== undefined && bestScore <= Math.max(2, Math.floor(key.length / 3)) ? ` (did you mean "${best}"?)` : '';
}

const join = (path: string, key: string) => (path ? `${path}.${key}` : key);

/** Makes a validator optional; with `fallback`, the resolved config always has a value. */
function optional<T>(inner: Validator<T>): Validator<T, true>;
function optional<T>(inner: Validator<T>, fallback: T | (() => T)): Validator<T>;
function optional<T>(inner: Validator<T>, fallback?: T | (() => T)): Validator<T, boolean> {
  return {
    ...inner,
    optional: true,
    fallback: fallback === undefined ? undefined : typeof fallback === 'function' ? (fallback as () => T) : () => fallback,
  };
}

/** The validators. */
export const v = {
  /** A string; `nonEmpty` by default. */
  string(opts: { allowEmpty?: boolean } = {}): Validator<string> {
    const expected = opts.allowEmpty ? 'a string' : 'a non-empty string';
    return make(expected, (value, path, where) =>
      typeof value === 'string' && (opts.allowEmpty || value.length > 0) ? value : fail(where, path, expected, value),
    );
  },
  /** A secret string: never quoted in an error message. */
  secret(): Validator<string> {
    return make(
      'a non-empty string',
      (value, path, where) => (typeof value === 'string' && value.length > 0 ? value : fail(where, path, 'a non-empty string', value, false)),
      false,
    );
  },
  /** An integer within bounds. */
  integer(opts: { min?: number; max?: number } = {}): Validator<number> {
    const expected =
      opts.min === 1 && opts.max === undefined
        ? 'a positive integer'
        : opts.min === 0 && opts.max === undefined
          ? 'a non-negative integer'
          : `an integer${opts.min !== undefined ? ` ≥ ${opts.min}` : ''}${opts.max !== undefined ? ` ≤ ${opts.max}` : ''}`;
    return make(expected, (value, path, where) =>
      typeof value === 'number' && Number.isInteger(value) && (opts.min === undefined || value >= opts.min) && (opts.max === undefined || value <= opts.max)
        ? value
        : fail(where, path, expected, value),
    );
  },
  /** A finite number within bounds. */
  number(opts: { min?: number; max?: number } = {}): Validator<number> {
    const expected = `a number${opts.min !== undefined ? ` ≥ ${opts.min}` : ''}${opts.max !== undefined ? ` ≤ ${opts.max}` : ''}`;
    return make(expected, (value, path, where) =>
      typeof value === 'number' && Number.isFinite(value) && (opts.min === undefined || value >= opts.min) && (opts.max === undefined || value <= opts.max)
        ? value
        : fail(where, path, expected, value),
    );
  },
  boolean(): Validator<boolean> {
    return make('true or false', (value, path, where) => (typeof value === 'boolean' ? value : fail(where, path, 'true or false', value)));
  },
  /** One of a fixed set of strings. */
  oneOf<const T extends string | number>(values: readonly T[]): Validator<T> {
    const expected = `one of ${values.map((x) => JSON.stringify(x)).join(', ')}`;
    return make(expected, (value, path, where) => ((values as readonly unknown[]).includes(value) ? (value as T) : fail(where, path, expected, value)));
  },
  /** An absolute http(s) URL, returned as a string. */
  url(): Validator<string> {
    const expected = 'an absolute http(s) URL';
    return make(expected, (value, path, where) => {
      if (typeof value !== 'string' && !(value instanceof URL)) return fail(where, path, expected, value);
      try {
        const url = new URL(String(value));
        if (url.protocol !== 'http:' && url.protocol !== 'https:') return fail(where, path, expected, value);
        return url.href;
      } catch {
        return fail(where, path, expected, value);
      }
    });
  },
  /** An array of items; `minLength` defaults to 0. */
  array<T>(item: Validator<T>, opts: { minLength?: number } = {}): Validator<T[]> {
    const expected = `${opts.minLength ? 'a non-empty ' : 'an '}array of ${item.expected.replace(/^an? /, '')}s`;
    return make(expected, (value, path, where) => {
      if (!Array.isArray(value) || value.length < (opts.minLength ?? 0)) return fail(where, path, expected, value, item.quote);
      return value.map((x, i) => item.check(x, `${path}[${i}]`, where));
    });
  },
  /** A single item or an array of them, normalised to an array. */
  list<T>(item: Validator<T>, opts: { minLength?: number } = {}): Validator<T[]> {
    const arr = v.array(item, opts);
    const expected = `${item.expected} or ${arr.expected}`;
    return make(expected, (value, path, where) => (Array.isArray(value) ? arr.check(value, path, where) : [item.check(value, path, where)]));
  },
  /** An object with string keys whose values all pass `item`. */
  record<T>(item: Validator<T>): Validator<Record<string, T>> {
    const expected = `an object of ${item.expected.replace(/^an? /, '')}s`;
    return make(expected, (value, path, where) => {
      if (!isPlainObject(value)) return fail(where, path, expected, value);
      const out: Record<string, T> = {};
      for (const [k, x] of Object.entries(value)) out[k] = item.check(x, join(path, k), where);
      return out;
    });
  },
  /** An object with a fixed shape; unknown keys are a `ConfigError` naming the key. */
  object<S extends Shape>(shape: S): Validator<Infer<S>> {
    return make('an object', (value, path, where) => parseShape(where, shape, value, path) as Infer<S>);
  },
  /** Any value the predicate accepts (an ioredis client, a function, a logger…). */
  custom<T>(expected: string, test: (value: unknown) => boolean): Validator<T> {
    return make(expected, (value, path, where) => (test(value) ? (value as T) : fail(where, path, expected, value)));
  },
  /** A clock, the test seam some plugins take as `now`: a function returning epoch milliseconds. */
  clock(): Validator<() => number> {
    return v.custom<() => number>('a function returning epoch milliseconds', (x) => typeof x === 'function');
  },
  /** The first of several validators that accepts the value. */
  either<A, B>(a: Validator<A>, b: Validator<B>): Validator<A | B> {
    const expected = `${a.expected} or ${b.expected}`;
    return make(expected, (value, path, where) => {
      for (const x of [a, b] as Validator<A | B>[]) {
        try {
          return x.check(value, path, where);
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err;
        }
      }
      return fail(where, path, expected, value, a.quote && b.quote);
    });
  },
  /** Makes a validator optional, with a default value when it is missing. */
  optional,
};

/**
 * Validates `input` against `shape` and returns the typed values with defaults filled in.
 * Unknown keys throw, with a "did you mean" suggestion.
 */
export function parseShape<S extends Shape>(where: Where, shape: S, input: unknown, path = ''): Infer<S> {
  if (input === undefined) input = {};
  if (!isPlainObject(input)) {
    if (path === '') throw new ConfigError(`${where.plugin}: options must be an object, got ${describeValue(input)}`, '');
    return fail(where, path, 'an object', input);
  }
  const known = Object.keys(shape);
  for (const key of Object.keys(input)) {
    if (!(key in shape) && input[key] !== undefined) {
      throw new ConfigError(`${where.plugin}: unknown option "${join(path, key)}"${suggest(key, known)}`, join(path, key));
    }
  }
  const out: Record<string, unknown> = {};
  for (const [key, validator] of Object.entries(shape)) {
    const value = input[key];
    const p = join(path, key);
    if (value === undefined) {
      if (!validator.optional) throw new ConfigError(`${where.plugin}: "${p}" is required (${validator.expected})`, p);
      if (validator.fallback) out[key] = validator.fallback();
      continue;
    }
    out[key] = validator.check(value, p, where);
  }
  return out as Infer<S>;
}

/**
 * Takes a plugin's `logger` option out of its options before they are validated and frozen: a
 * logger is the app's object and is used as given (freezing a plain-object logger would break the
 * app's own use of it, a test's spy included).
 */
export function takeLogger<T>(where: Where, options: T): { logger: Logger | undefined; rest: T } {
  if (!isPlainObject(options) || options.logger === undefined) return { logger: undefined, rest: options };
  const { logger, ...rest } = options;
  if (!isLogger(logger)) fail(where, 'logger', LOGGER_EXPECTED, logger);
  return { logger, rest: rest as T };
}

/** Deep-freezes a resolved config so no code can change a policy after construction. */
export function deepFreeze<T>(value: T): Readonly<T> {
  if (value && typeof value === 'object' && !Object.isFrozen(value) && (Array.isArray(value) || Object.getPrototypeOf(value) === Object.prototype)) {
    Object.freeze(value);
    for (const x of Object.values(value as object)) deepFreeze(x);
  }
  return value;
}

/**
 * Reading one plugin's `config:` block: each field a translator uses is taken (and so accounted
 * for); whatever is left must be absent, null, empty or Kong's default, else it is reported as
 * unsupported. A dump made by `deck gateway dump` lists every field with its default, so defaults
 * must pass, and nothing with an effect may pass unnoticed.
 */
import type { Findings } from '../findings';

/** Several values Kong has had as a field's default across 3.x versions. */
export class OneOf {
  readonly values: readonly unknown[];
  constructor(...values: unknown[]) {
    this.values = values;
  }
}

/** Kong's defaults, by dotted field path (`redis.port`). */
export type Defaults = Readonly<Record<string, unknown>>;

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Whether a value has no effect in Kong: absent, null, an empty array or object. */
export const isEmpty = (value: unknown): boolean =>
  value === undefined || value === null || (Array.isArray(value) && value.length === 0) || (typeof value === 'object' && value !== null && Object.keys(value).length === 0);

/** One plugin's config as a translator reads it. */
export class ConfigReader {
  private readonly taken = new Set<string>();

  /**
   * @param path - the config's path in the file (`plugins[0].config`)
   */
  constructor(
    readonly path: string,
    private readonly config: Readonly<Record<string, unknown>>,
    readonly findings: Findings,
    private readonly defaults: Defaults,
  ) {}

  /** The path of a field, for findings. */
  at(key: string): string {
    return `${this.path}.${key}`;
  }

  /** A field's value, marked as read; null (Kong's "unset") comes back as undefined. Dotted keys reach into records. */
  take(key: string): unknown {
    this.taken.add(key);
    let value: unknown = this.config;
    for (const part of key.split('.')) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
      value = (value as Record<string, unknown>)[part];
    }
    return value === null ? undefined : value;
  }

  /** Whether a value is Kong's default for the field (or has no effect). */
  isDefault(key: string, value: unknown): boolean {
    if (isEmpty(value)) return true;
    if (!(key in this.defaults)) return false;
    const d = this.defaults[key];
    return d instanceof OneOf ? d.values.some((x) => same(x, value)) : same(d, value);
  }

  unsupported(key: string, message: string): void {
    this.findings.unsupported(this.at(key), message);
  }

  translated(key: string, message: string): void {
    this.findings.translated(this.at(key), message);
  }

  invalid(key: string, message: string): void {
    this.findings.invalid(this.at(key), message);
  }

  /**
   * Reports every field no translator took whose value is not Kong's default.
   *
   * @param why - the reason given for a field, by its dotted path
   */
  rest(why: (key: string) => string): void {
    const visit = (value: unknown, key: string): void => {
      if (this.taken.has(key)) return;
      if (typeof value === 'object' && value !== null && !Array.isArray(value) && !(key in this.defaults)) {
        for (const [k, v] of Object.entries(value)) visit(v, key === '' ? k : `${key}.${k}`);
        return;
      }
      if (!this.isDefault(key, value)) this.unsupported(key, why(key));
    };
    visit(this.config, '');
  }
}

/** A list of strings, or undefined (and an invalid finding) when the value is something else. */
export function strings(reader: ConfigReader, key: string): string[] | undefined {
  const value = reader.take(key);
  if (value === undefined) return undefined;
  if (Array.isArray(value) && value.every((x) => typeof x === 'string')) return value as string[];
  reader.invalid(key, 'must be an array of strings');
  return undefined;
}

/** Kong's claim path (`["realm_access", "roles"]`) as tollgate's: a name or a path of names. */
export function claimPath(reader: ConfigReader, key: string): string[] | undefined {
  const path = strings(reader, key);
  return path === undefined || path.length === 0 ? undefined : path;
}

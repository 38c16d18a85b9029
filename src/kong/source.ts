/**
 * Reading a decK file: YAML or JSON text (the `yaml` package: JSON is YAML) or an object, with
 * decK's `${{ env "DECK_…" }}` placeholders resolved, and its `_format_version` checked.
 *
 * @see https://developer.konghq.com/deck/reference/env-variables/
 */
import { parse } from 'yaml';
import { ConfigError } from '../core/errors';

/** `${{ env "DECK_NAME" }}`, as decK writes it. */
const PLACEHOLDER = /\$\{\{\s*env\s+"([^"]*)"\s*\}\}/g;

/** Resolves the placeholders of one string; names of unset or non-DECK_ variables are collected. */
function substitute(text: string, env: Readonly<Record<string, string | undefined>>, problems: Set<string>): string {
  return text.replace(PLACEHOLDER, (whole, name: string) => {
    if (!name.startsWith('DECK_')) {
      problems.add(`"${name}" does not start with DECK_ (decK only reads DECK_ variables)`);
      return whole;
    }
    const value = env[name];
    if (value === undefined) {
      problems.add(`"${name}" is not set`);
      return whole;
    }
    return value;
  });
}

function substituteDeep(value: unknown, env: Readonly<Record<string, string | undefined>>, problems: Set<string>): unknown {
  if (typeof value === 'string') return substitute(value, env, problems);
  if (Array.isArray(value)) return value.map((x) => substituteDeep(x, env, problems));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, x]) => [k, substituteDeep(x, env, problems)]));
  }
  return value;
}

/**
 * The file as a plain object. Text is substituted before it is parsed, as decK does (so a
 * placeholder may stand for a number); an object's string values are substituted.
 *
 * @throws ConfigError when the text is not YAML/JSON, is not an object, or names variables that are not set.
 */
export function readSource(source: unknown, env: Readonly<Record<string, string | undefined>>): Record<string, unknown> {
  const problems = new Set<string>();
  let doc: unknown;
  if (typeof source === 'string' || Buffer.isBuffer(source)) {
    const text = substitute(String(source), env, problems);
    try {
      doc = parse(text, { prettyErrors: true });
    } catch (err) {
      throw new ConfigError(`fromKong: the file is neither YAML nor JSON: ${(err as Error).message.split('\n')[0]}`, '', { cause: err });
    }
  } else if (typeof source === 'object' && source !== null && !Array.isArray(source)) {
    doc = substituteDeep(source, env, problems);
  } else {
    throw new ConfigError('fromKong: expected decK YAML or JSON text, or the parsed object', '');
  }
  if (problems.size > 0) {
    throw new ConfigError(`fromKong: environment variables the file uses: ${[...problems].join('; ')}`, '');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new ConfigError('fromKong: the file must hold an object with _format_version, services, routes, plugins, consumers…', '');
  }
  return doc as Record<string, unknown>;
}

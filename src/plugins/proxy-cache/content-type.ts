/**
 * Media types: parsing a `Content-Type` and matching it against the configured `contentType` list.
 *
 * Kong compares parameters exactly, so `application/json; charset=utf-8` never matches
 * `application/json` and every such response is a `Bypass` — its most reported proxy-cache bug
 * (Kong/kong#6103). Here a configured entry names the parameters it requires, if any, and the
 * response's other parameters are ignored.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-8.3.1 — media type grammar
 */

/** A parsed media type or range: lower-cased type and subtype, parameters by lower-cased name. */
export interface MediaRange {
  readonly type: string;
  readonly subtype: string;
  readonly params: ReadonlyMap<string, string>;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/i;

/**
 * Parses `type/subtype; name=value; …` (RFC 9110 grammar, empty parameters allowed), or returns
 * undefined when the value is not a media type.
 */
export function parseMediaRange(value: string): MediaRange | undefined {
  const semi = value.indexOf(';');
  const essence = (semi === -1 ? value : value.slice(0, semi)).trim().toLowerCase();
  const slash = essence.indexOf('/');
  if (slash <= 0) return undefined;
  const type = essence.slice(0, slash);
  const subtype = essence.slice(slash + 1);
  if (!TOKEN.test(type) || !TOKEN.test(subtype)) return undefined;
  const params = new Map<string, string>();
  if (semi !== -1) {
    // Quoted values may hold ';', so split on the grammar rather than on the character.
    const re = /\s*;\s*(?:([!#$%&'*+.^_`|~0-9a-z-]+)=("(?:[^"\\]|\\.)*"|[!#$%&'*+.^_`|~0-9a-z-]+))?/giy;
    re.lastIndex = semi;
    while (re.lastIndex < value.length) {
      const start = re.lastIndex;
      const m = re.exec(value);
      if (!m || re.lastIndex === start) return value.slice(start).trim() === '' ? { type, subtype, params } : undefined;
      if (m[1] !== undefined) {
        const raw = m[2]!;
        params.set(m[1].toLowerCase(), raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw);
      }
    }
  }
  return { type, subtype, params };
}

/** Whether a response's media type satisfies one configured range. `charset` compares case-insensitively. */
function satisfies(media: MediaRange, range: MediaRange): boolean {
  if (range.type !== '*' && range.type !== media.type) return false;
  if (range.subtype !== '*' && range.subtype !== media.subtype) return false;
  for (const [name, wanted] of range.params) {
    const got = media.params.get(name);
    if (got === undefined) return false;
    if (name === 'charset' ? got.toLowerCase() !== wanted.toLowerCase() : got !== wanted) return false;
  }
  return true;
}

/**
 * Whether a response's `Content-Type` is one the cache may store: exactly one, parseable value
 * matching one of `ranges`.
 */
export function contentTypeMatches(header: unknown, ranges: readonly MediaRange[]): boolean {
  if (typeof header !== 'string' || header === '') return false;
  const media = parseMediaRange(header);
  if (!media) return false;
  for (const range of ranges) if (satisfies(media, range)) return true;
  return false;
}

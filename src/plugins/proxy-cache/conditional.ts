/**
 * Conditional requests answered from a stored response: a hit whose validators match the
 * request's `If-None-Match` (or, without it, `If-Modified-Since`) is answered 304 Not Modified,
 * as apicache does and RFC 9111 §4.3.2 describes for a cache that holds the selected response.
 *
 * Our own code rather than a library: `fresh` (Express's) compares a request with response headers
 * but treats `Cache-Control: no-cache` in the request as "not fresh", which is a freshness rule,
 * and looks up `Last-Modified` only; a cache needs the RFC 9111 fallbacks (`Date`, then the time it
 * stored the response) and the 304's own set of headers. The rules are short enough to keep here.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-13 — conditional requests
 * @see https://www.rfc-editor.org/rfc/rfc9111#section-4.3.2 — a cache answering a validation request
 */
import type { RequestContext } from '../../core/context';
import type { CachedResponse } from '../../stores/response-store';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH = MONTHS.join('|');
const IMF_FIXDATE = new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\\d{2}) (${MONTH}) (\\d{4}) (\\d{2}):(\\d{2}):(\\d{2}) GMT$`);
const RFC850_DATE = new RegExp(`^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\\d{2})-(${MONTH})-(\\d{2}) (\\d{2}):(\\d{2}):(\\d{2}) GMT$`);
const ASCTIME_DATE = new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (${MONTH}) ([ \\d]\\d) (\\d{2}):(\\d{2}):(\\d{2}) (\\d{4})$`);

/**
 * An HTTP-date (RFC 9110 §5.6.7) in epoch milliseconds: IMF-fixdate and the two obsolete forms a
 * recipient must accept. Undefined for anything else, which the caller must then ignore.
 */
export function parseHttpDate(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  let parts: [day: string, month: string, year: number, h: string, m: string, s: string] | undefined;
  let m = IMF_FIXDATE.exec(text);
  if (m) parts = [m[1]!, m[2]!, Number(m[3]), m[4]!, m[5]!, m[6]!];
  else if ((m = RFC850_DATE.exec(text))) {
    // A two-digit year more than 50 years ahead is the most recent past year with those digits.
    const thisYear = new Date(now).getUTCFullYear();
    let year = Math.floor(thisYear / 100) * 100 + Number(m[3]);
    if (year > thisYear + 50) year -= 100;
    parts = [m[1]!, m[2]!, year, m[4]!, m[5]!, m[6]!];
  } else if ((m = ASCTIME_DATE.exec(text))) parts = [m[2]!.trim(), m[1]!, Number(m[6]), m[3]!, m[4]!, m[5]!];
  if (parts === undefined) return undefined;
  const [day, month, year, h, min, s] = parts;
  const time = Date.UTC(year, MONTHS.indexOf(month), Number(day), Number(h), Number(min), Number(s));
  // Rolled-over values (31 Feb, 25:00) are not dates.
  return new Date(time).getUTCDate() === Number(day) && Number(h) < 24 && Number(min) < 60 && Number(s) < 61 ? time : undefined;
}

const ENTITY_TAG = /\s*(W\/)?"([\x21\x23-\x7e\x80-\xff]*)"\s*(?:,|$)/y;

/** The opaque tags of an `If-None-Match` list, or `'*'`; undefined when the value is not a valid list. */
function entityTags(value: string): string[] | '*' | undefined {
  if (value.trim() === '*') return '*';
  const tags: string[] = [];
  ENTITY_TAG.lastIndex = 0;
  while (ENTITY_TAG.lastIndex < value.length) {
    const m = ENTITY_TAG.exec(value);
    if (!m) return undefined;
    tags.push(m[2]!);
  }
  return tags.length > 0 ? tags : undefined;
}

const one = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value.join(', ') : value);

/**
 * Whether a stored response answers this request with 304 Not Modified (RFC 9110 §13.2.2): only a
 * 2xx to a GET or HEAD; `If-None-Match` first, with weak comparison (`W/"a"` matches `"a"`), and
 * `If-Modified-Since` only without it, against `Last-Modified`, else the stored `Date`, else the
 * time the response was stored (RFC 9111 §4.3.2).
 */
export function notModified(entry: CachedResponse, ctx: RequestContext): boolean {
  const method = ctx.request.method;
  if ((method !== 'GET' && method !== 'HEAD') || entry.status < 200 || entry.status > 299) return false;
  const ifNoneMatch = ctx.request.header('if-none-match');
  if (ifNoneMatch !== undefined) {
    const wanted = entityTags(ifNoneMatch);
    if (wanted === '*') return true;
    const etag = one(entry.headers['etag']);
    const stored = etag === undefined ? undefined : entityTags(etag);
    if (wanted === undefined || stored === undefined || stored === '*' || stored.length !== 1) return false;
    return wanted.includes(stored[0]!);
  }
  const since = parseHttpDate(ctx.request.header('if-modified-since'));
  if (since === undefined) return false;
  const modified = parseHttpDate(one(entry.headers['last-modified'])) ?? parseHttpDate(one(entry.headers['date'])) ?? Math.floor(entry.storedAt / 1000) * 1000;
  return modified <= since;
}

/**
 * Headers a 304 carries (RFC 9110 §15.4.5): those a 200 would have sent among `Content-Location`,
 * `ETag`, `Vary`, `Cache-Control`, `Expires`, and `Last-Modified` when there is no `ETag` to
 * update a client's copy by. `Date` is the server's to add. `Content-Type` is kept too, only
 * because tollgate's answer path would otherwise name one for the (unsent) stored body.
 */
export function notModifiedHeaders(entry: CachedResponse): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const names = ['content-location', 'etag', 'vary', 'cache-control', 'expires', 'content-type'];
  if (entry.headers['etag'] === undefined) names.push('last-modified');
  for (const name of names) {
    const value = entry.headers[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

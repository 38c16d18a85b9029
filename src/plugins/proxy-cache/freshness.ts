/**
 * Freshness on lookup: whether a stored entry may answer this request (`Hit`) or must be fetched
 * again (`Refresh`), and the request's own `Cache-Control` directives.
 *
 * With `cacheControl` off, only the entry's lifetime counts, as in Kong. With it on, the request's
 * `max-age`, `min-fresh` and `max-stale` narrow or widen it (RFC 9111 §5.2.1). Kong serves an entry
 * kept past its lifetime by `storage_ttl` as a Hit unless the request objects; here a stale entry
 * is only served when the request's `max-stale` allows it and the response did not say
 * `must-revalidate`/`proxy-revalidate`, which is what RFC 9111 §4.2.4 asks of a cache that does not
 * revalidate.
 *
 * @see https://www.rfc-editor.org/rfc/rfc9111#section-5.2.1 — request directives
 */
import type { RequestContext } from '../../core/context';
import type { CachedResponse } from '../../stores/response-store';

/** The request directives the cache acts on. */
export interface RequestDirectives {
  noCache: boolean;
  noStore: boolean;
  onlyIfCached: boolean;
  maxAge?: number;
  minFresh?: number;
  /** Seconds of staleness the client accepts; `Infinity` for a bare `max-stale`. */
  maxStale?: number;
}

const seconds = (value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  const n = Number.parseInt(value.replace(/^"|"$/g, ''), 10);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
};

/** The request's `Cache-Control` (or `Pragma: no-cache` without one), or undefined when it has neither. */
export function requestDirectives(ctx: RequestContext): RequestDirectives | undefined {
  const header = ctx.request.header('cache-control');
  if (header === undefined) {
    const pragma = ctx.request.header('pragma');
    return pragma !== undefined && /(?:^|,)\s*no-cache\s*(?:,|$)/i.test(pragma)
      ? { noCache: true, noStore: false, onlyIfCached: false }
      : undefined;
  }
  const d: RequestDirectives = { noCache: false, noStore: false, onlyIfCached: false };
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    const name = (eq === -1 ? part : part.slice(0, eq)).trim().toLowerCase();
    const value = eq === -1 ? undefined : part.slice(eq + 1).trim();
    switch (name) {
      case 'no-cache':
        d.noCache = true;
        break;
      case 'no-store':
        d.noStore = true;
        break;
      case 'only-if-cached':
        d.onlyIfCached = true;
        break;
      case 'max-age':
        d.maxAge = seconds(value);
        break;
      case 'min-fresh':
        d.minFresh = seconds(value);
        break;
      case 'max-stale':
        d.maxStale = value === undefined ? Infinity : seconds(value);
        break;
    }
  }
  return d;
}

/** Seconds since the response was generated: its age when stored plus the time it has been stored. */
export const ageOf = (entry: CachedResponse, now: number): number => entry.initialAge + Math.max(0, now - entry.storedAt) / 1000;

/** Whether a stored entry answers the request (`true`) or must be fetched again (`false`). */
export function isFresh(entry: CachedResponse, now: number, directives: RequestDirectives | undefined): boolean {
  const age = ageOf(entry, now);
  const stale = age > entry.ttl;
  if (directives === undefined) return !stale;
  if (directives.maxAge !== undefined && age > directives.maxAge) return false;
  if (directives.minFresh !== undefined && entry.ttl - age < directives.minFresh) return false;
  if (!stale) return true;
  return !entry.mustRevalidate && directives.maxStale !== undefined && age - entry.ttl <= directives.maxStale;
}

/** Whether the request carries the values of the headers the stored response varies on. */
export function varyMatches(entry: CachedResponse, ctx: RequestContext): boolean {
  const vary = entry.vary;
  if (vary === undefined) return true;
  for (const name in vary) if ((ctx.request.header(name) ?? null) !== vary[name]) return false;
  return true;
}

/**
 * What may be cached: the request rules (checked in `access`), the response rules (checked when
 * the response head is known) and the headers an entry keeps.
 *
 * @see https://developer.konghq.com/plugins/proxy-cache/ — Kong's rules
 * @see https://www.rfc-editor.org/rfc/rfc9111#section-3 — storing responses
 */
import type { OutgoingHttpHeader } from 'node:http';
import CachePolicy from 'http-cache-semantics';
import type { RequestContext } from '../../core/context';
import { contentTypeMatches, type MediaRange } from './content-type';
import type { ProxyCacheConfig } from './options';

/** How a response that may be stored is stored. */
export interface StoragePlan {
  /** Freshness lifetime, seconds. */
  ttl: number;
  /** Age of the response when it arrived, seconds. */
  initialAge: number;
  /** How long storage keeps it, milliseconds. */
  storageMs: number;
  vary?: Record<string, string | null>;
  mustRevalidate?: boolean;
}

const headerString = (value: OutgoingHttpHeader | undefined): string | undefined =>
  value === undefined ? undefined : Array.isArray(value) ? value.join(', ') : String(value);

/** Cache-Control directive names, lower-cased, in a header value. */
const directiveNames = (value: string | undefined): Set<string> =>
  new Set((value ?? '').split(',').map((part) => part.split('=')[0]!.trim().toLowerCase()));

/**
 * The freshness an origin gave the response, judged by http-cache-semantics for the parts it gets
 * right (no-store, private, no-cache, s-maxage over max-age over Expires − Date, the upstream's
 * `Age`, `Vary: *`), with its faults kept out: `proxy-revalidate` would make every response
 * uncacheable (TTL 0), so it is read here as must-revalidate; the method and status it would judge
 * are our own options' business; heuristic freshness (Last-Modified) and `immutable` are off, as a
 * response without explicit freshness is never cached in Kong's `cache_control` mode.
 */
function originFreshness(
  ctx: RequestContext,
  headers: Record<string, OutgoingHttpHeader | undefined>,
): { ttl: number; initialAge: number; mustRevalidate: boolean } | undefined {
  const plain: Record<string, string> = {};
  for (const name in headers) {
    const value = headerString(headers[name]);
    if (value !== undefined) plain[name] = value;
  }
  const directives = directiveNames(plain['cache-control']);
  const mustRevalidate = directives.has('must-revalidate') || directives.has('proxy-revalidate');
  if (directives.has('proxy-revalidate')) {
    plain['cache-control'] = plain['cache-control']!.split(',').filter((d) => d.trim().toLowerCase() !== 'proxy-revalidate').join(',');
  }
  const reqHeaders: Record<string, string> = {};
  for (const name in ctx.request.headers) {
    // Authenticated requests are keyed by consumer and subject, never shared between users, so the
    // shared-cache rule about Authorization (RFC 9111 §3.5) is already met by the key.
    if (name === 'authorization') continue;
    const value = ctx.request.header(name);
    if (value !== undefined) reqHeaders[name] = value;
  }
  const policy = new CachePolicy({ method: 'GET', url: ctx.request.originalPath, headers: reqHeaders }, { status: 200, headers: plain }, {
    shared: true,
    cacheHeuristic: 0,
    immutableMinTimeToLive: 0,
  });
  if (!policy.storable()) return undefined;
  const ttl = policy.maxAge();
  const initialAge = policy.age();
  if (!(ttl - initialAge > 0)) return undefined;
  return { ttl, initialAge, mustRevalidate };
}

/**
 * Whether the origin marked the response `no-store` or `private` (qualified or not, in any case, on
 * any of its `Cache-Control` lines). Those are privacy directives, not freshness: a shared cache
 * must never store such a response (RFC 9111 §5.2.2.5, §5.2.2.7), whatever `cacheControl` says.
 */
export function privateResponse(cacheControl: OutgoingHttpHeader | undefined): boolean {
  const names = directiveNames(headerString(cacheControl));
  return names.has('no-store') || names.has('private');
}

/**
 * Whether a response may be stored, and how: its status and media type are configured, it sets no
 * cookie, the origin did not mark it `no-store` or `private`, its declared length fits
 * `maxBodySize`, it does not vary on everything, and with `cacheControl` its directives allow it
 * (without, Kong's `cacheTtl` decides its freshness). Undefined means `Bypass`.
 */
export function planStorage(
  config: ProxyCacheConfig,
  ranges: readonly MediaRange[],
  ctx: RequestContext,
  requestHeaders: Readonly<Record<string, string | string[] | undefined>>,
): StoragePlan | undefined {
  const res = ctx.response;
  if (!config.responseCode.includes(res.status)) return undefined;
  const headers = res.getHeaders();
  if (!contentTypeMatches(headers['content-type'], ranges)) return undefined;
  if (headers['set-cookie'] !== undefined) return undefined;
  if (privateResponse(headers['cache-control'])) return undefined;
  const length = headers['content-length'];
  if (length !== undefined && Number(length) > config.maxBodySize) return undefined;

  let vary: Record<string, string | null> | undefined;
  const varyHeader = headerString(headers['vary']);
  if (varyHeader !== undefined) {
    for (const raw of varyHeader.split(',')) {
      const name = raw.trim().toLowerCase();
      if (name === '') continue;
      if (name === '*') return undefined;
      if (config.varyHeaders.includes(name)) continue;
      const value = requestHeaders[name];
      (vary ??= {})[name] = value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
    }
  }

  let ttl = config.cacheTtl;
  let initialAge = 0;
  let mustRevalidate = false;
  if (config.cacheControl) {
    const origin = originFreshness(ctx, headers);
    if (!origin) return undefined;
    ({ ttl, initialAge, mustRevalidate } = origin);
  }
  const storageSeconds = config.storageTtl ?? ttl - initialAge;
  return {
    ttl,
    initialAge,
    storageMs: storageSeconds * 1000,
    ...(vary ? { vary } : {}),
    ...(mustRevalidate ? { mustRevalidate } : {}),
  };
}

/** Headers an entry never keeps: hop-by-hop, recomputed, per-request, or the cache's own. */
const NOT_STORED = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'trailers',
  'transfer-encoding',
  'upgrade',
  'content-length',
  'set-cookie',
  'age',
  'x-cache-status',
  'x-cache-key',
  'x-tollgate-response-latency',
  'x-tollgate-upstream-latency',
  'x-tollgate-proxy-latency',
  // Rate-limit headers stay live: the rate-limit plugin sets them on every request, hits included.
  'retry-after',
  'ratelimit',
  'ratelimit-policy',
]);

const isRateLimitHeader = (name: string): boolean => name.startsWith('ratelimit-') || name.startsWith('x-ratelimit-');

/** The response headers an entry keeps and replays on a hit. */
export function storableHeaders(headers: Record<string, OutgoingHttpHeader | undefined>): Record<string, string | string[]> {
  const connection = headerString(headers['connection']);
  const listed = connection ? directiveNames(connection) : undefined;
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || NOT_STORED.has(name) || isRateLimitHeader(name) || listed?.has(name)) continue;
    out[name] = Array.isArray(value) ? value.map(String) : String(value);
  }
  return out;
}

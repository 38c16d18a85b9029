/**
 * The cache key: a SHA-256 hex digest of who asks (the consumer), the method, the path, the
 * query and the `varyHeaders` values.
 *
 * Kong joins the parts with `|` and `:`; here they are JSON-encoded instead, because a consumer id,
 * a path or a query value may itself hold those characters, and two different requests must never
 * produce the same string (a consumer named "default" must not share the anonymous entries).
 *
 * @see https://developer.konghq.com/plugins/proxy-cache/#cache-key — Kong's key
 */
import { hash } from 'node:crypto';
import type { RequestContext } from '../../core/context';
import type { ProxyCacheConfig } from './options';

function queryPart(query: Readonly<Record<string, string | string[]>>, only: readonly string[]): unknown[] {
  const names = only.length > 0 ? only.filter((n) => query[n] !== undefined) : Object.keys(query).sort();
  const out: unknown[] = [];
  for (const name of names) {
    const value = query[name]!;
    // Repeated parameters: their order does not change the answer in most APIs, as in Kong.
    out.push(name, Array.isArray(value) ? [...value].sort() : value);
  }
  return out;
}

/**
 * The key of a request for `method` (a HEAD is looked up under GET: see the plugin). The path is
 * the full one the client sent, so two mounts of the same gateway never share entries.
 */
export function cacheKey(config: ProxyCacheConfig, ctx: RequestContext, method: string): string {
  const req = ctx.request;
  const path = config.ignoreUriCase ? req.originalPath.toLowerCase() : req.originalPath;
  const headers: (string | null)[] = [];
  for (const name of config.varyHeaders) headers.push(req.header(name) ?? null);
  const consumer = ctx.consumer?.id;
  const material = JSON.stringify([
    consumer === undefined ? 0 : 1,
    consumer ?? '',
    method,
    path,
    req.search === '' ? [] : queryPart(req.query, config.varyQueryParams),
    headers,
  ]);
  return hash('sha256', material, 'hex');
}

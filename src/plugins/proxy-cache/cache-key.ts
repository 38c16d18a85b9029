/**
 * The cache key: a SHA-256 hex digest of who asks (the consumer and whose credential it is), the
 * method, the path, the query and the `varyHeaders` values.
 *
 * Kong keys on the consumer alone. Here the consumer is often the application (Auth0's `azp`), which
 * every user of that application shares, so the credential's subject is in the key too: two users
 * of one application never share an entry, while one user's tokens do.
 *
 * Kong joins the parts with `|` and `:`; here they are JSON-encoded instead, because a consumer id,
 * a path or a query value may itself hold those characters, and two different requests must never
 * produce the same string (a consumer named "default" must not share the anonymous entries).
 *
 * @see https://developer.konghq.com/plugins/proxy-cache/#cache-key — Kong's key
 */
import { hash } from 'node:crypto';
import type { Credential, RequestContext } from '../../core/context';
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
 * Whom a credential belongs to: its `sub` claim when it has one (the user of a user's token, the
 * client of a client-credentials token), else its id (a hash of an opaque token, an API key's id).
 * `sub` rather than the id, because the id follows the auth plugin's `credentialClaim`, which may
 * name something users share.
 */
export function subjectOf(credential: Credential | undefined): string | undefined {
  if (credential === undefined) return undefined;
  const sub = credential.claims?.sub;
  return typeof sub === 'string' && sub !== '' ? sub : credential.id;
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
  const material = JSON.stringify([
    ctx.consumer?.id ?? null,
    subjectOf(ctx.credential) ?? null,
    method,
    path,
    req.search === '' ? [] : queryPart(req.query, config.varyQueryParams),
    headers,
  ]);
  return hash('sha256', material, 'hex');
}

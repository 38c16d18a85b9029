/**
 * The cache key: a SHA-256 hex digest of who asks (the consumer and whose credential it is), the
 * method, the target (scheme, host, path, query, as RFC 9111 §4 keys on the target URI) and the
 * `varyHeaders` values.
 *
 * Kong keys on the consumer alone. Here the consumer is often the application (Auth0's `azp`), which
 * every user of that application shares, so the credential's subject is in the key too: two users
 * of one application never share an entry, while one user's tokens do.
 *
 * Kong leaves the host out. A response built from the Host (the upstream proxy forwards it as
 * `X-Forwarded-Host`; handlers build absolute URLs from it) would then be served to every host's
 * clients, so the scheme, the host and every forwarding header that names the target are keyed on.
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

/**
 * Request headers that tell whoever builds the response what the target is: the upstream proxy
 * passes them on (from a trusted proxy), and frameworks build absolute URLs and redirects from them.
 */
const TARGET_HEADERS = ['x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-port', 'x-forwarded-prefix', 'x-forwarded-path', 'forwarded'];

const DEFAULT_PORTS: Readonly<Record<string, string>> = { http: '80', https: '443' };

/**
 * The authority the request names, normalised (RFC 3986 §6.2.2–6.2.3): lower-cased, without the
 * scheme's default port, and without the port the connection arrived on. That port names this
 * server, whichever of its listeners took the request (supertest's `request(app)` opens a new one
 * per request); any other port, such as a crafted `Host: shop.example:1`, stays in the key.
 */
function authorityOf(ctx: RequestContext): string {
  const host = ctx.request.host.toLowerCase();
  const colon = host.lastIndexOf(':');
  if (colon === -1 || host.indexOf(']', colon) !== -1) return host; // no port (an IPv6 literal's colons are inside [])
  const port = host.slice(colon + 1);
  const arrived = ctx.raw?.req.socket?.localPort;
  return port === DEFAULT_PORTS[ctx.request.protocol] || (arrived !== undefined && port === String(arrived)) ? host.slice(0, colon) : host;
}

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
  const forwarded: (string | null)[] = [];
  for (const name of TARGET_HEADERS) forwarded.push(req.header(name) ?? null);
  const material = JSON.stringify([
    ctx.consumer?.id ?? null,
    subjectOf(ctx.credential) ?? null,
    method,
    // The forwarding headers are kept as sent: any difference may be reflected in the answer.
    req.protocol,
    authorityOf(ctx),
    forwarded,
    path,
    req.search === '' ? [] : queryPart(req.query, config.varyQueryParams),
    headers,
  ]);
  return hash('sha256', material, 'hex');
}

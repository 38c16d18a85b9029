/**
 * Reading credentials off a request: a bearer token (RFC 6750 §2) or client credentials (HTTP
 * Basic, RFC 7617; or `client_id`/`client_secret` arguments, off by default because query strings
 * end up in access logs).
 */
import type { RequestContext } from '../../core/context';
import type { OidcConfig } from './options';

/** What the request presented. */
export type Presented =
  | { readonly kind: 'none' }
  | { readonly kind: 'bearer'; readonly token: string }
  | { readonly kind: 'client'; readonly clientId: string; readonly clientSecret: string; readonly from: 'header' | 'query' | 'body' }
  /** A malformed Basic header, or credentials sent more than one way. */
  | { readonly kind: 'malformed'; readonly conflict: boolean };

const NONE: Presented = Object.freeze({ kind: 'none' });
const BEARER = /^\s*bearer(?:\s+(.*))?$/i;
const BASIC = /^\s*basic\s+([A-Za-z0-9+/=_-]+)\s*$/i;

/** A parsed body, where a body parser (express.json / express.urlencoded) put one on Node's request. */
function bodyOf(ctx: RequestContext): Record<string, unknown> | undefined {
  const body = (ctx.raw?.req as { body?: unknown } | undefined)?.body;
  return typeof body === 'object' && body !== null && !Buffer.isBuffer(body) ? (body as Record<string, unknown>) : undefined;
}

const single = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

function basic(encoded: string): Presented {
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  // An empty id or secret can never authenticate (and openid-client refuses an empty secret
  // outright): answered like any wrong credentials, without asking the IdP.
  if (colon <= 0 || colon === decoded.length - 1) return { kind: 'malformed', conflict: false };
  return { kind: 'client', clientId: decoded.slice(0, colon), clientSecret: decoded.slice(colon + 1), from: 'header' };
}

/**
 * The credentials of a request, read from where the configuration allows.
 * A token takes precedence over client credentials; two different tokens are a conflict.
 */
export function presented(ctx: RequestContext, config: OidcConfig): Presented {
  const authorization = ctx.request.header('authorization');
  const tokens: string[] = [];
  let client: Presented | undefined;
  if (authorization !== undefined) {
    const bearer = BEARER.exec(authorization);
    if (bearer && config.bearerTokenParamType.includes('header')) {
      tokens.push((bearer[1] ?? '').trim());
    } else if (config.authMethods.includes('client_credentials') && config.clientCredentialsParamType.includes('header') && /^\s*basic\b/i.test(authorization)) {
      const m = BASIC.exec(authorization);
      client = m ? basic(m[1]!) : { kind: 'malformed', conflict: false };
    }
  }
  // The query is parsed (and the body looked up) only where the configuration reads them.
  const body = config.bearerTokenParamType.includes('body') || config.clientCredentialsParamType.includes('body') ? bodyOf(ctx) : undefined;
  if (config.bearerTokenParamType.includes('query')) {
    const t = single(ctx.request.query.access_token);
    if (t !== undefined) tokens.push(t.trim());
  }
  if (config.bearerTokenParamType.includes('body')) {
    const t = single(body?.access_token);
    if (t !== undefined) tokens.push(t.trim());
  }
  if (tokens.length > 0) {
    if (tokens.some((t) => t !== tokens[0])) return { kind: 'malformed', conflict: true };
    return tokens[0] === '' ? NONE : { kind: 'bearer', token: tokens[0]! };
  }
  if (client) return client;
  if (!config.authMethods.includes('client_credentials')) return NONE;
  for (const from of ['query', 'body'] as const) {
    if (!config.clientCredentialsParamType.includes(from)) continue;
    const source: Record<string, unknown> | undefined = from === 'query' ? ctx.request.query : body;
    const clientId = single(source?.client_id);
    const clientSecret = single(source?.client_secret);
    if (clientId && clientSecret) return { kind: 'client', clientId, clientSecret, from };
  }
  return NONE;
}

/**
 * Removes client credentials sent as arguments so the upstream never receives the secret: from
 * the parsed body, from the context's query view (which `upstreamProxy` forwards), and from the
 * URL Node and the framework hold (which the app's handler reads).
 */
export function stripClientArguments(ctx: RequestContext, from: 'query' | 'body'): void {
  const req = ctx.raw?.req as (NonNullable<RequestContext['raw']>['req'] & { originalUrl?: string }) | undefined;
  if (from === 'body') {
    const body = bodyOf(ctx);
    if (body) {
      delete body.client_id;
      delete body.client_secret;
    }
    return;
  }
  // Drops the two arguments and keeps every other one byte for byte (no re-encoding).
  const strip = (search: string): string =>
    search
      .split('&')
      .filter((pair) => {
        const name = pair.split('=', 1)[0]!;
        let decoded = name;
        try {
          decoded = decodeURIComponent(name.replace(/\+/g, ' '));
        } catch {
          // a malformed escape is not one of ours
        }
        return decoded !== 'client_id' && decoded !== 'client_secret';
      })
      .join('&');
  const stripUrl = (url: string): string => {
    const q = url.indexOf('?');
    if (q === -1) return url;
    const rest = strip(url.slice(q + 1));
    return rest ? `${url.slice(0, q)}?${rest}` : url.slice(0, q);
  };
  ctx.request.setSearch(strip(ctx.request.search));
  if (!req) return;
  if (req.url) req.url = stripUrl(req.url);
  if (typeof req.originalUrl === 'string') req.originalUrl = stripUrl(req.originalUrl);
}

/**
 * `oidc(options)`: Kong's openid-connect and oauth2-introspection plugins, with Auth0 as the
 * first-class identity provider — bearer JWTs, the client-credentials exchange, RFC 7662
 * introspection, claims authorization, the consumer for rate limiting and caching, and end-user
 * login with sessions (login.ts and the modules it uses).
 *
 * @see https://developer.konghq.com/plugins/openid-connect/
 * @see docs/plugins/oidc.md
 */
import { hash } from 'node:crypto';
import type { CryptoKey } from 'jose';
import { LRUCache } from 'lru-cache';
import { takeLogger } from '../../core/config';
import type { RequestContext } from '../../core/context';
import { TollgateError } from '../../core/errors';
import { describeError, type Logger } from '../../core/logger';
import { definePlugin, type Plugin } from '../../core/plugin';
import { IssuerDiscovery } from '../../identity/discovery';
import { JwksCache } from '../../identity/jwks';
import { BearerVerifier, MAX_TOKEN_LENGTH, looksLikeJwt } from './bearer';
import { Challenges } from './challenge';
import { ClientCredentialsExchange } from './client-credentials';
import { presented, stripClientArguments } from './extract';
import { Introspector } from './introspection';
import { LoginFlow } from './login';
import { parseOidcOptions, type OidcConfig, type OidcOptions } from './options';
import { OwnedHeaders } from './owned-headers';
import { applyPrincipal, buildPrincipal, type Principal } from './principal';

export type { OidcOptions, OidcConfig, OidcAuthMethod, OidcParamType, OidcIntrospectionOptions } from './options';
export type { OidcLoginOptions, OidcLoginConfig } from './login-options';

/** The OIDC plugin: a tollgate plugin plus a warm-up. */
export interface OidcPlugin extends Plugin<OidcConfig> {
  /**
   * Discovers the issuer and fetches its keys now, so the first request does not wait (call it at
   * boot; a failure is retried on the next request anyway).
   *
   * @throws IdentityProviderError when the issuer cannot be reached.
   */
  ready(): Promise<void>;
  /** Closes the Redis client the plugin created for `sessionStorage: 'redis'` (nothing otherwise). */
  close(): Promise<void>;
}

/** A verified bearer token as the verified-token cache keeps it. */
interface VerifiedBearer {
  readonly principal: Principal;
  readonly jwksUri: string;
  readonly key: CryptoKey;
}

// crypto.hash (one-shot) is about twice as fast as createHash for a token-sized input: this is per request.
const sha256 = (s: string): string => hash('sha256', s, 'base64url');

/**
 * Why a request was refused, at debug level (KrakenD users' most common question is "why 401?").
 * Only the error's code and message and its cause's: never the token or a secret.
 */
function refused(log: Logger, err: unknown): never {
  if (err instanceof TollgateError && err.status < 500) {
    log.debug(`oidc: refused with ${err.status}`, { ...describeError(err.cause ?? err) });
  }
  throw err;
}

/**
 * Protects routes with OpenID Connect: bearer JWTs verified against the issuer's keys, client
 * credentials exchanged for a token (the Kong + Auth0 walkthrough), or introspection. Runs at
 * priority 1050 (Kong's), before rate limiting and caching, and sets `ctx.consumer` and
 * `ctx.credential` for them.
 *
 * Answers 401 `{"message":"Unauthorized"}` with `WWW-Authenticate: Bearer realm="<issuer host>"`
 * (plus `error="invalid_token"` when a token was presented), 403 `{"message":"Forbidden"}` with
 * `error="insufficient_scope"` when a valid token lacks a required scope, role or audience, and
 * 502/503 JSON when the identity provider is needed and cannot answer.
 *
 * With `authorization_code` and `session` in `authMethods` it also signs people in: a browser
 * without a session is redirected to the provider's login page, comes back to `redirectUri`, and
 * its later requests go on with its access token (docs/plugins/oidc.md, "End-user login").
 *
 * @example
 * ```ts
 * app.use('/httpbin', gateway(
 *   oidc({
 *     issuer: 'https://TENANT.us.auth0.com/',
 *     authMethods: ['client_credentials', 'bearer'],
 *     audience: 'https://clientcredentials.com',
 *     tokenPostArgs: { audience: 'https://clientcredentials.com' },
 *   }),
 * ));
 * ```
 * @see https://developer.konghq.com/plugins/openid-connect/reference/
 */
export function oidc(options: OidcOptions): OidcPlugin {
  const { logger, rest } = takeLogger({ plugin: 'oidc' }, options);
  const { config, introspectionAuthorization, loginSecrets } = parseOidcOptions(rest);
  const insecure = config.allowInsecureIssuer;
  const challenges = new Challenges(config.realm);
  const discovery = new IssuerDiscovery(config.issuer, { allowInsecure: insecure, timeout: config.timeout });
  const jwks = new JwksCache({
    refreshInterval: config.jwksRefreshInterval * 1000,
    cooldown: config.rediscoveryLifetime * 1000,
    staleIfError: config.jwksStaleIfError * 1000,
    timeout: config.timeout,
    allowInsecure: insecure,
  });
  const methods = new Set(config.authMethods);
  const owned = new OwnedHeaders(config);
  const verifier = methods.has('bearer') ? new BearerVerifier(config, discovery, jwks, challenges) : undefined;
  const introspector = introspectionAuthorization ? new Introspector(config, introspectionAuthorization, discovery, challenges) : undefined;
  const exchange = methods.has('client_credentials') ? new ClientCredentialsExchange(config, discovery, challenges) : undefined;
  const login = config.login && loginSecrets ? new LoginFlow(config, config.login, loginSecrets, discovery, challenges, logger) : undefined;
  const verified = config.tokenCacheSize > 0 ? new LRUCache<string, VerifiedBearer>({ max: config.tokenCacheSize }) : undefined;
  const refreshMs = config.jwksRefreshInterval * 1000;

  async function verifyBearer(ctx: RequestContext, token: string, hash: string): Promise<void> {
    const { claims, jwksUri, key } = await verifier!.verify(token);
    const principal = buildPrincipal(config, challenges, {
      type: 'bearer',
      claims,
      fallbackId: hash.slice(0, 22),
      // jwtVerify required a numeric exp. A cached verification never outlives it, nor the key that
      // verified it: it is dropped when a refresh no longer publishes the key, and verified again
      // after jwksRefreshInterval, which refreshes the keys when they are due.
      expiresAt: Math.min((claims.exp as number) * 1000, Date.now() + refreshMs),
    });
    verified?.set(hash, { principal, jwksUri, key });
    applyPrincipal(ctx, principal);
  }

  function tokenFlow(ctx: RequestContext, token: string): void | Promise<void> {
    if (token.length > MAX_TOKEN_LENGTH) throw challenges.invalidToken(new Error('token too long'));
    const hash = sha256(token);
    // The hot path: a token verified before costs a hash and a cache lookup.
    const hit = verified?.get(hash);
    if (hit && hit.principal.expiresAt > Date.now() && jwks.published(hit.jwksUri, hit.key)) return applyPrincipal(ctx, hit.principal);
    if (verifier && looksLikeJwt(token)) return verifyBearer(ctx, token, hash);
    if (introspector) {
      const hit = introspector.cached(hash);
      if (hit) return applyPrincipal(ctx, hit);
      return introspector.introspect(token, hash).then((principal) => applyPrincipal(ctx, principal));
    }
    throw challenges.invalidToken(new Error('opaque token and introspection is not enabled'));
  }

  async function clientFlow(ctx: RequestContext, clientId: string, clientSecret: string, from: 'header' | 'query' | 'body'): Promise<void> {
    const principal = await exchange!.exchange(clientId, clientSecret);
    applyPrincipal(ctx, principal);
    if (from !== 'header') stripClientArguments(ctx, from);
  }

  const plugin = definePlugin<OidcConfig>({
    name: 'oidc',
    priority: 1050,
    config,
    access(ctx, local) {
      if (!config.runOnPreflight && ctx.request.method === 'OPTIONS' && ctx.request.header('access-control-request-method') !== undefined) {
        return owned.strip(ctx);
      }
      try {
        // The callback and the logout of end-user login are answered whatever else the request carries.
        const routed = login?.route(ctx);
        if (routed) return routed;
        const credentials = presented(ctx, config);
        // After reading the credentials (a claim header could be named like one), before any flow sets ours.
        owned.strip(ctx);
        let pending: void | Promise<void>;
        switch (credentials.kind) {
          case 'bearer':
            // A bearer token wins over a session, unless the route takes no tokens at all.
            if (login && !verifier && !introspector) return login.authenticate(ctx, local);
            pending = tokenFlow(ctx, credentials.token);
            break;
          case 'client':
            pending = clientFlow(ctx, credentials.clientId, credentials.clientSecret, credentials.from);
            break;
          case 'malformed':
            throw credentials.conflict ? challenges.invalidRequest() : challenges.missing(new Error('malformed credentials'));
          default:
            if (login) return login.authenticate(ctx, local);
            throw challenges.missing(new Error('no credentials'));
        }
        return pending === undefined ? undefined : pending.catch((err: unknown) => refused(logger ?? ctx.log, err));
      } catch (err) {
        refused(logger ?? ctx.log, err);
      }
    },
    // Only with login: a header phase on every response costs the machine flows nothing then.
    ...(login ? { headerFilter: (ctx: RequestContext, local: Record<string, unknown>) => login.headerFilter(ctx, local) } : {}),
  });

  return {
    ...plugin,
    async ready() {
      const metadata = await discovery.get();
      const jwksUri = config.jwksEndpoint ?? metadata.jwks_uri;
      if (verifier && jwksUri) await jwks.prefetch(jwksUri);
    },
    close: async () => {
      await login?.close();
    },
  };
}

/**
 * Client-credentials tokens (RFC 6749 §4.4) through openid-client, cached and single-flight.
 *
 * Shared by the OIDC plugin (the Kong + Auth0 walkthrough: a client's Basic credentials exchanged
 * for a token), the upstream proxy's gateway-to-backend auth, and the Auth0 registrar's Management
 * API token. openid-client does no caching, and Auth0 meters machine-to-machine tokens, so:
 * - a token is cached per (token endpoint, client id, hash of the secret, extra arguments) until
 *   shortly before `expires_in`;
 * - concurrent first requests for one key share one token request;
 * - a rejected secret is remembered briefly, so repeated failures do not hammer the IdP.
 */
import { createHash } from 'node:crypto';
import * as client from 'openid-client';
import { LRUCache } from 'lru-cache';
import { IdentityProviderError, UnauthorizedError } from '../core/errors';
import { traceIdp, type IdpTrace } from './trace';

/** A token as the cache keeps it. The access token itself never appears in an error or log. */
export interface CachedToken {
  readonly accessToken: string;
  readonly tokenType: string;
  /** Epoch milliseconds after which the token must not be used. */
  readonly expiresAt: number;
  readonly scope?: string;
}

/** Who asks for a token. */
export interface ClientCredentials {
  readonly clientId: string;
  readonly clientSecret: string;
  /** Extra form arguments (`audience` for Auth0, `resource` for RFC 8707, `scope`). */
  readonly args?: Readonly<Record<string, string>>;
}

/** How a {@link ClientCredentialsTokens} reaches the token endpoint. */
export interface TokenSourceOptions {
  /** The authorization server's metadata (from discovery, or `{ issuer, token_endpoint }`). */
  metadata: () => Promise<client.ServerMetadata>;
  /** How the client authenticates at the token endpoint. @defaultValue `'client_secret_post'` (Auth0's) */
  authMethod?: 'client_secret_post' | 'client_secret_basic';
  /** Allow plain-http token endpoints (local development and tests only). @defaultValue false */
  allowInsecure?: boolean;
  /** Seconds before `expires_in` at which a cached token is replaced. @defaultValue 30 */
  refreshSkew?: number;
  /** Seconds a rejected client is answered from memory. @defaultValue 5 */
  failureTtl?: number;
  /** Token lifetime assumed when the IdP sends no `expires_in`. @defaultValue 300 */
  defaultLifetime?: number;
  /** Request timeout in milliseconds. @defaultValue 5000 */
  timeout?: number;
  /** Most tokens kept. @defaultValue 10000 */
  max?: number;
  /** Test seam: a fetch implementation (openid-client's `customFetch`). */
  fetch?: client.CustomFetch;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('base64url');

/** Whether an openid-client error means the client's credentials were refused. */
function isRejection(err: unknown): boolean {
  if (err instanceof client.WWWAuthenticateChallengeError) return true;
  if (err instanceof client.ResponseBodyError) {
    return err.status === 401 || err.status === 403 || ['invalid_client', 'unauthorized_client', 'access_denied', 'invalid_grant'].includes(err.error);
  }
  return false;
}

const NETWORK_CODES = new Set([
  'OAUTH_TIMEOUT', 'OAUTH_ABORT', 'ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH',
  'ENETUNREACH', 'EPIPE', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED',
]);

/**
 * Whether an error (or one of its causes) means the IdP could not be reached or timed out.
 * Names are compared, not classes: fetch's errors may come from another realm (jest's vm), and
 * openid-client wraps errors it does not know in a `ClientError` whose cause is the real one.
 */
function isUnreachable(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, name, message } = e as { code?: unknown; name?: unknown; message?: unknown };
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
    if (name === 'TimeoutError' || name === 'AbortError') return true;
    if (name === 'TypeError' && typeof message === 'string' && /fetch failed/.test(message)) return true;
  }
  return false;
}

/** Maps a failure to reach or understand the IdP to a tollgate error, keeping it as `cause`. */
export function idpFailure(err: unknown, what: string): IdentityProviderError {
  const unreachable = isUnreachable(err);
  return new IdentityProviderError(unreachable ? `The identity provider is unreachable (${what})` : `The identity provider answered an invalid response (${what})`, {
    cause: err,
    status: unreachable ? 503 : 502,
  });
}

/** A cache of client-credentials tokens for one authorization server. */
export class ClientCredentialsTokens {
  private readonly tokens: LRUCache<string, CachedToken>;
  private readonly rejected: LRUCache<string, true>;
  private readonly inflight = new Map<string, Promise<CachedToken>>();
  private readonly opts: Required<Omit<TokenSourceOptions, 'fetch'>> & Pick<TokenSourceOptions, 'fetch'>;
  /** How many token requests were sent (for tests and benchmarks). */
  requests = 0;

  constructor(options: TokenSourceOptions) {
    this.opts = {
      authMethod: 'client_secret_post',
      allowInsecure: false,
      refreshSkew: 30,
      failureTtl: 5,
      defaultLifetime: 300,
      timeout: 5000,
      max: 10_000,
      ...options,
    };
    this.tokens = new LRUCache({ max: this.opts.max });
    this.rejected = new LRUCache({ max: this.opts.max, ttl: this.opts.failureTtl * 1000 });
  }

  private async keyOf(creds: ClientCredentials): Promise<{ key: string; metadata: client.ServerMetadata }> {
    const metadata = await this.opts.metadata();
    const args = Object.entries(creds.args ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const key = sha256(JSON.stringify([metadata.token_endpoint, creds.clientId, sha256(creds.clientSecret), args]));
    return { key, metadata };
  }

  /**
   * A valid token for these credentials: from the cache, from a request already under way, or
   * from a new token request.
   *
   * @throws UnauthorizedError when the IdP rejects the client's credentials.
   * @throws IdentityProviderError when the IdP cannot be reached or answers garbage.
   */
  async get(creds: ClientCredentials): Promise<CachedToken> {
    const { key, metadata } = await this.keyOf(creds);
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt - this.opts.refreshSkew * 1000 > Date.now()) return cached;
    if (this.rejected.has(key)) throw new UnauthorizedError('Unauthorized');
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = traceIdp('token', 'POST', metadata.token_endpoint ?? metadata.issuer, (trace) => this.request(metadata, creds, key, trace)).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  /** Drops the cached token for these credentials (after the resource server refused it). */
  async invalidate(creds: ClientCredentials): Promise<void> {
    const { key } = await this.keyOf(creds);
    this.tokens.delete(key);
  }

  private async request(metadata: client.ServerMetadata, creds: ClientCredentials, key: string, trace: IdpTrace | undefined): Promise<CachedToken> {
    const auth = this.opts.authMethod === 'client_secret_basic' ? client.ClientSecretBasic(creds.clientSecret) : client.ClientSecretPost(creds.clientSecret);
    const config = new client.Configuration(metadata, creds.clientId, undefined, auth);
    config.timeout = Math.max(1, Math.ceil(this.opts.timeout / 1000));
    if (this.opts.fetch) config[client.customFetch] = this.opts.fetch;
    if (this.opts.allowInsecure) client.allowInsecureRequests(config);
    const controller = new AbortController();
    // openid-client's own timeout has a one-second granularity; this one is exact and aborts.
    const timer = setTimeout(() => controller.abort(), this.opts.timeout);
    const fetchImpl: client.CustomFetch = this.opts.fetch ?? ((url, init) => fetch(url, init as RequestInit));
    config[client.customFetch] = (url, init) => {
      const answer = fetchImpl(url, { ...init, signal: controller.signal });
      return trace ? answer.then(trace.saw) : answer;
    };
    this.requests++;
    try {
      const response = await client.clientCredentialsGrant(config, { ...(creds.args ?? {}) });
      if (typeof response.access_token !== 'string' || response.access_token.length === 0) {
        throw new TypeError('token response without access_token');
      }
      const lifetime = typeof response.expires_in === 'number' && response.expires_in > 0 ? response.expires_in : this.opts.defaultLifetime;
      const token: CachedToken = {
        accessToken: response.access_token,
        tokenType: response.token_type ?? 'Bearer',
        expiresAt: Date.now() + lifetime * 1000,
        ...(typeof response.scope === 'string' ? { scope: response.scope } : {}),
      };
      this.tokens.set(key, token, { ttl: Math.max(1, lifetime - this.opts.refreshSkew) * 1000 });
      return token;
    } catch (err) {
      if (isRejection(err)) {
        this.rejected.set(key, true);
        throw new UnauthorizedError('Unauthorized', { cause: err });
      }
      throw idpFailure(controller.signal.aborted ? Object.assign(new Error('token request timed out'), { code: 'OAUTH_TIMEOUT' }) : err, 'token endpoint');
    } finally {
      clearTimeout(timer);
    }
  }
}

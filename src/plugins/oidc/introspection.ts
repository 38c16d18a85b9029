/**
 * RFC 7662 token introspection, Kong oauth2-introspection style: the token is posted with the
 * configured `Authorization` value, and the answer (active or not) is cached for `ttl` seconds,
 * keyed by a hash of the token, never past the token's `exp`; concurrent requests with one token
 * share one call.
 *
 * A plain fetch rather than openid-client's `tokenIntrospection`: Kong sends `authorization_value`
 * verbatim, which is not one of openid-client's client authentication methods.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7662
 */
import { LRUCache } from 'lru-cache';
import { IdentityProviderError } from '../../core/errors';
import { idpFailure } from '../../identity/client-credentials';
import type { IssuerDiscovery } from '../../identity/discovery';
import { traceIdp } from '../../identity/trace';
import type { Challenges } from './challenge';
import type { OidcConfig } from './options';
import { CREDENTIAL_PREFIX } from './owned-headers';
import { buildPrincipal, headerValue, type Principal } from './principal';

/** Kong's upstream headers for an introspected token, and the claims they come from. */
const CREDENTIAL_HEADERS: readonly (readonly [string, string])[] = [
  ['x-credential-scope', 'scope'],
  ['x-credential-client-id', 'client_id'],
  ['x-credential-identifier', 'username'],
  ['x-credential-token-type', 'token_type'],
  ['x-credential-exp', 'exp'],
  ['x-credential-iat', 'iat'],
  ['x-credential-nbf', 'nbf'],
  ['x-credential-sub', 'sub'],
  ['x-credential-aud', 'aud'],
  ['x-credential-iss', 'iss'],
  ['x-credential-jti', 'jti'],
];

type Outcome = { readonly active: true; readonly principal: Principal } | { readonly active: false; readonly expiresAt: number };

/** Introspects opaque (or any) tokens for one plugin instance. */
export class Introspector {
  /** How many introspection calls were sent (for tests). */
  requests = 0;
  private readonly cache: LRUCache<string, Outcome>;
  private readonly inflight = new Map<string, Promise<Outcome>>();
  private readonly settings: NonNullable<OidcConfig['introspection']>;

  constructor(
    private readonly config: OidcConfig,
    private readonly authorization: string,
    private readonly discovery: IssuerDiscovery,
    private readonly challenges: Challenges,
  ) {
    this.settings = config.introspection!;
    this.cache = new LRUCache({ max: Math.max(1, config.tokenCacheSize) });
  }

  /** A cached outcome, synchronously, or undefined. */
  cached(hash: string): Principal | undefined {
    const hit = this.cache.get(hash);
    if (!hit) return undefined;
    if ((hit.active ? hit.principal.expiresAt : hit.expiresAt) <= Date.now()) {
      this.cache.delete(hash);
      return undefined;
    }
    if (!hit.active) throw this.challenges.invalidToken(new Error('token is not active (cached)'));
    return hit.principal;
  }

  /**
   * The principal of an active token.
   *
   * @throws UnauthorizedError when the token is not active.
   * @throws IdentityProviderError when the introspection endpoint cannot be reached or answers garbage.
   */
  async introspect(token: string, hash: string): Promise<Principal> {
    const cached = this.cached(hash);
    if (cached) return cached;
    let pending = this.inflight.get(hash);
    if (!pending) {
      pending = this.call(token, hash).finally(() => this.inflight.delete(hash));
      this.inflight.set(hash, pending);
    }
    const outcome = await pending;
    if (!outcome.active) throw this.challenges.invalidToken(new Error('token is not active'));
    return outcome.principal;
  }

  private async call(token: string, hash: string): Promise<Outcome> {
    // A configured endpoint needs no discovery (Kong's oauth2-introspection knows only its URL).
    const endpoint = this.config.introspectionEndpoint ?? (this.discovery.current ?? (await this.discovery.get())).introspection_endpoint;
    if (!endpoint) throw new IdentityProviderError('The identity provider answered an invalid response (no introspection_endpoint)', { status: 502 });
    if (!endpoint.startsWith('https:') && !(this.config.allowInsecureIssuer && endpoint.startsWith('http:'))) {
      throw new IdentityProviderError('The identity provider answered an invalid response (introspection_endpoint is not https)', { status: 502 });
    }
    this.requests++;
    const body = await traceIdp('introspection', 'POST', endpoint, async (trace) => {
      try {
        const res = await fetch(endpoint, {
          method: 'POST',
          headers: { authorization: this.authorization, accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ token, token_type_hint: this.settings.tokenTypeHint }).toString(),
          redirect: 'manual',
          signal: AbortSignal.timeout(this.config.timeout),
        });
        trace?.saw(res);
        const text = await res.text();
        if (res.status !== 200) throw new TypeError(`introspection answered HTTP ${res.status}`);
        const parsed = JSON.parse(text) as Record<string, unknown>;
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new TypeError('introspection answer is not an object');
        return parsed;
      } catch (err) {
        throw idpFailure(err, 'introspection');
      }
    });
    const now = Date.now();
    const ttlEnd = now + this.settings.ttl * 1000;
    const exp = typeof body.exp === 'number' ? body.exp * 1000 : Infinity;
    const expiresAt = Math.min(ttlEnd, exp);
    const outcome = this.outcome(body, hash, expiresAt, now);
    if (this.settings.ttl > 0 && expiresAt > now) this.cache.set(hash, outcome);
    return outcome;
  }

  private outcome(claims: Record<string, unknown>, hash: string, expiresAt: number, now: number): Outcome {
    const audience = this.config.audience;
    const audOk = !audience || [claims.aud].flat().some((a) => typeof a === 'string' && audience.includes(a));
    const notExpired = typeof claims.exp !== 'number' || claims.exp * 1000 + this.config.leeway * 1000 > now;
    if (claims.active !== true || !audOk || !notExpired) return { active: false, expiresAt };
    const extraHeaders: (readonly [string, string | undefined])[] = CREDENTIAL_HEADERS.map(([header, claim]) => [header, headerValue(claims[claim])]);
    for (const claim of this.settings.customClaimsForward) extraHeaders.push([`${CREDENTIAL_PREFIX}${claim.toLowerCase()}`, headerValue(claims[claim])]);
    const principal = buildPrincipal(this.config, this.challenges, {
      type: 'introspection',
      claims,
      fallbackId: hash.slice(0, 22),
      expiresAt,
      extraHeaders,
    });
    return { active: true, principal };
  }
}

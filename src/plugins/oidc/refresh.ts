/**
 * Refreshing a session's expired access token with its refresh token (Kong's `refresh_tokens`),
 * one refresh per refresh token at a time: concurrent requests of one session wait for the
 * refresh under way and share its result.
 *
 * The result stays available for a minute, keyed by a hash of the refresh token that was used:
 * requests the browser sent with the old cookie before it received the new one get the new tokens
 * rather than a second refresh — which, with refresh-token rotation (Auth0's, oidc-provider's),
 * the provider would take for a stolen token and answer by revoking the whole family.
 *
 * Single-flight is per process: with several instances behind a balancer, keep a session's
 * requests on one instance or accept that two instances may refresh the same session.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-6
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2 — refresh token rotation
 */
import { hash } from 'node:crypto';
import * as client from 'openid-client';
import { LRUCache } from 'lru-cache';
import { tokensOf } from './authorization-code';
import type { SessionTokens } from './session';
import { providerFault, type WebClient } from './web-client';

/** The identity provider refused the refresh token: the session is over. */
export class RefreshRefused extends Error {
  constructor(cause: unknown) {
    super('the identity provider refused the refresh token', { cause });
    this.name = 'RefreshRefused';
  }
}

/** How long a refresh's result answers requests that still carry the old refresh token (ms). */
const RESULT_TTL = 60_000;

/** Refreshes access tokens for one plugin. */
export class TokenRefresher {
  private readonly inflight = new Map<string, Promise<SessionTokens>>();
  private readonly results = new LRUCache<string, SessionTokens>({ max: 10_000, ttl: RESULT_TTL });

  constructor(
    private readonly web: WebClient,
    private readonly now: () => number,
  ) {}

  /**
   * New tokens for a session whose access token expired.
   *
   * @throws RefreshRefused when the identity provider refuses the refresh token.
   * @throws IdentityProviderError when it cannot be reached or answers garbage.
   */
  refresh(tokens: SessionTokens & { refreshToken: string }): Promise<SessionTokens> {
    const key = hash('sha256', tokens.refreshToken, 'base64url');
    const done = this.results.get(key);
    if (done) return Promise.resolve(done);
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.grant(tokens, key).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  private async grant(tokens: SessionTokens & { refreshToken: string }, key: string): Promise<SessionTokens> {
    const configuration = await this.web.configuration();
    let response: client.TokenEndpointResponse;
    try {
      response = await client.refreshTokenGrant(configuration, tokens.refreshToken);
    } catch (err) {
      throw providerFault(err, 'token endpoint') ?? new RefreshRefused(err);
    }
    const fresh = tokensOf(response, this.now(), tokens);
    this.results.set(key, fresh);
    return fresh;
  }
}

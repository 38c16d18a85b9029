/**
 * The Kong + Auth0 walkthrough: a client sends its id and secret, the gateway exchanges them at
 * the token endpoint (with `tokenPostArgs`, e.g. Auth0's `audience`) and the upstream receives
 * `Authorization: Bearer <access token>` — never the secret.
 *
 * Tokens come from the shared {@link ClientCredentialsTokens}: cached per (token endpoint, client,
 * hash of the secret, arguments) until shortly before `expires_in`, single-flight, and a refused
 * secret is remembered briefly so repeated failures do not hammer the identity provider.
 *
 * @see https://developer.konghq.com/plugins/openid-connect/ — the client credentials grant
 */
import { decodeJwt } from 'jose';
import { LRUCache } from 'lru-cache';
import { UnauthorizedError } from '../../core/errors';
import { ClientCredentialsTokens, type CachedToken } from '../../identity/client-credentials';
import type { IssuerDiscovery } from '../../identity/discovery';
import type { Challenges } from './challenge';
import { looksLikeJwt } from './bearer';
import type { OidcConfig } from './options';
import { buildPrincipal, type Principal } from './principal';

/** Exchanges client credentials for tokens and turns each token into a principal once. */
export class ClientCredentialsExchange {
  /** The shared token cache; `tokens.requests` counts token requests. */
  readonly tokens: ClientCredentialsTokens;
  private readonly principals = new LRUCache<string, Principal>({ max: 1000 });

  constructor(
    private readonly config: OidcConfig,
    discovery: IssuerDiscovery,
    private readonly challenges: Challenges,
  ) {
    this.tokens = new ClientCredentialsTokens({
      metadata: async () => {
        const metadata = discovery.current ?? (await discovery.get());
        return config.tokenEndpoint ? { ...metadata, token_endpoint: config.tokenEndpoint } : metadata;
      },
      authMethod: config.tokenEndpointAuthMethod,
      allowInsecure: config.allowInsecureIssuer,
      timeout: config.timeout,
    });
  }

  /**
   * The principal for these client credentials, with the upstream `Authorization` header set to
   * the access token.
   *
   * @throws UnauthorizedError when the identity provider refuses the credentials.
   * @throws IdentityProviderError when it cannot be reached or answers garbage.
   */
  async exchange(clientId: string, clientSecret: string): Promise<Principal> {
    let token: CachedToken;
    try {
      token = await this.tokens.get({ clientId, clientSecret, args: this.config.tokenPostArgs });
    } catch (err) {
      if (err instanceof UnauthorizedError) throw this.challenges.missing(err);
      throw err;
    }
    let principal = this.principals.get(token.accessToken);
    if (!principal || principal.expiresAt <= Date.now()) {
      principal = this.principalOf(clientId, token);
      this.principals.set(token.accessToken, principal);
    }
    return principal;
  }

  private principalOf(clientId: string, token: CachedToken): Principal {
    // The token came straight from the token endpoint over the connection we opened, so its
    // claims are read (not verified) only to name the consumer and check scopes.
    let claims: Record<string, unknown> = {};
    if (looksLikeJwt(token.accessToken)) {
      try {
        claims = decodeJwt(token.accessToken);
      } catch {
        claims = {};
      }
    }
    return buildPrincipal(this.config, this.challenges, {
      type: 'client_credentials',
      claims,
      fallbackId: clientId,
      fallbackConsumer: { id: clientId },
      scopes: token.scope ? token.scope.split(' ').filter(Boolean) : [],
      expiresAt: token.expiresAt,
      extraHeaders: [['authorization', `Bearer ${token.accessToken}`]],
    });
  }
}

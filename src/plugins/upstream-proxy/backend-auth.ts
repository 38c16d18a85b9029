/**
 * The gateway's own credentials for the backend (KrakenD's `auth/client-credentials`, the third
 * level of its Auth0 integration): a client-credentials token, cached until shortly before it
 * expires and fetched once for all concurrent requests (`ClientCredentialsTokens`), sent as the
 * upstream request's Authorization.
 *
 * Unlike KrakenD (golang.org/x/oauth2), a 401 from the backend makes the proxy drop the token and
 * retry once with a fresh one — when the request body can be sent again.
 *
 * @see https://www.krakend.io/docs/authorization/client-credentials/
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.4
 */
import type { ServerMetadata } from 'openid-client';
import { InternalError, TollgateError, UnauthorizedError } from '../../core/errors';
import { describeError, getLogger, type Logger } from '../../core/logger';
import { ClientCredentialsTokens, type ClientCredentials } from '../../identity/client-credentials';
import { discoverMetadata } from '../../identity/discovery';
import type { UpstreamProxyConfig } from './options';

/** Produces the Authorization header value the backend expects from the gateway. */
export class BackendAuth {
  /** The token cache (its `requests` counter tells how many token requests were sent). */
  readonly tokens: ClientCredentialsTokens;
  private readonly credentials: ClientCredentials;

  /**
   * @param logger - the plugin's own logger, if it was given one (else the one `setLogger` set)
   */
  constructor(
    config: NonNullable<UpstreamProxyConfig['auth']>,
    private readonly logger?: Logger,
  ) {
    const url = config.issuer ?? config.tokenUrl!;
    // A plain-http URL is one the developer wrote on purpose (a local IdP); openid-client's guard
    // is against metadata downgrading an https setup, which stays refused.
    const allowInsecure = new URL(url).protocol === 'http:';
    let metadata: () => Promise<ServerMetadata>;
    if (config.issuer !== undefined) {
      metadata = discoverMetadata(config.issuer, { allowInsecure });
    } else {
      const fixed = Promise.resolve<ServerMetadata>({ issuer: new URL(url).origin, token_endpoint: url });
      metadata = () => fixed;
    }
    this.tokens = new ClientCredentialsTokens({ metadata, authMethod: config.authMethod, allowInsecure });
    this.credentials = { clientId: config.clientId, clientSecret: config.clientSecret, args: config.args };
  }

  /** The header value for the next upstream request. */
  async authorization(): Promise<string> {
    try {
      const token = await this.tokens.get(this.credentials);
      return `${/^bearer$/i.test(token.tokenType) ? 'Bearer' : token.tokenType} ${token.accessToken}`;
    } catch (err) {
      throw this.mapped(err);
    }
  }

  /**
   * A fresh header value after the backend refused `used` (401). Concurrent refusals of the same
   * token cause one token request: a token that already changed is taken as it is.
   */
  async refresh(used: string): Promise<string> {
    const current = await this.authorization();
    if (current !== used) return current;
    await this.tokens.invalidate(this.credentials);
    return this.authorization();
  }

  /**
   * The identity provider refusing the gateway's own client is a configuration error, not the
   * caller's: a 500, logged, rather than a 401 the caller could do nothing about.
   */
  private mapped(err: unknown): TollgateError {
    if (err instanceof UnauthorizedError) {
      (this.logger ?? getLogger()).error(`upstreamProxy: the identity provider rejected the gateway's client credentials (client ${this.credentials.clientId})`, describeError(err.cause ?? err));
      return new InternalError('backend client credentials rejected', { cause: err });
    }
    if (err instanceof TollgateError) return err;
    return new InternalError('backend token request failed', { cause: err });
  }
}

/**
 * The web application's client at the identity provider (`clientId` + `clientSecret`), as an
 * openid-client `Configuration` built from the discovered metadata: what the code exchange, the
 * refresh, the revocation and the end-session URL go through.
 */
import * as client from 'openid-client';
import { IdentityProviderError } from '../../core/errors';
import { idpFailure } from '../../identity/client-credentials';
import type { IssuerDiscovery, IssuerMetadata } from '../../identity/discovery';
import type { OidcConfig } from './options';

/** One client configuration per discovered metadata. */
export class WebClient {
  private cached: { metadata: IssuerMetadata; configuration: client.Configuration } | undefined;

  constructor(
    private readonly config: OidcConfig,
    readonly clientId: string,
    private readonly clientSecret: string,
    private readonly discovery: IssuerDiscovery,
  ) {}

  /**
   * The configuration for the current metadata.
   *
   * @throws IdentityProviderError when the issuer cannot be discovered.
   */
  async configuration(): Promise<client.Configuration> {
    const metadata = this.discovery.current ?? (await this.discovery.get());
    if (this.cached?.metadata === metadata) return this.cached.configuration;
    const server: client.ServerMetadata = this.config.tokenEndpoint ? { ...metadata, token_endpoint: this.config.tokenEndpoint } : { ...metadata };
    const auth = this.config.tokenEndpointAuthMethod === 'client_secret_basic' ? client.ClientSecretBasic(this.clientSecret) : client.ClientSecretPost(this.clientSecret);
    const configuration = new client.Configuration(server, this.clientId, undefined, auth);
    const timeout = this.config.timeout;
    // openid-client's own timeout has a one-second granularity; this one is exact and aborts.
    configuration.timeout = Math.max(1, Math.ceil(timeout / 1000));
    configuration[client.customFetch] = (url, init) => {
      const mine = AbortSignal.timeout(timeout);
      return fetch(url, { ...(init as RequestInit), signal: init.signal ? AbortSignal.any([init.signal, mine]) : mine });
    };
    if (this.config.allowInsecureIssuer) client.allowInsecureRequests(configuration);
    this.cached = { metadata, configuration };
    return configuration;
  }

  /** The metadata the configuration was made from. */
  async metadata(): Promise<IssuerMetadata> {
    return this.discovery.current ?? (await this.discovery.get());
  }
}

/**
 * Sorts an openid-client failure: the identity provider unreachable (503) or broken (502) is an
 * `IdentityProviderError`; anything else (a refused grant, a state, nonce or `iss` that does not
 * match, an error in the authorization response) is the client's and is returned as `undefined`
 * for the caller to answer with a 4xx.
 */
export function providerFault(err: unknown, what: string): IdentityProviderError | undefined {
  if (err instanceof IdentityProviderError) return err;
  const mapped = idpFailure(err, what);
  if (mapped.status === 503) return mapped;
  if (err instanceof client.ResponseBodyError && err.status >= 500) return mapped;
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && BROKEN_PROVIDER.has(code)) return mapped;
  return undefined;
}

/** oauth4webapi's codes for an answer no conforming identity provider gives (an HTML error page, a missing endpoint). */
const BROKEN_PROVIDER = new Set(['OAUTH_RESPONSE_IS_NOT_CONFORM', 'OAUTH_RESPONSE_IS_NOT_JSON', 'OAUTH_MISSING_SERVER_METADATA', 'OAUTH_INVALID_SERVER_METADATA']);

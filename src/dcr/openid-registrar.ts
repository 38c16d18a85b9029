/**
 * `openidRegistrar()`: RFC 7591 dynamic client registration of machine clients through
 * openid-client, for providers that offer a registration endpoint (Keycloak, node-oidc-provider,
 * Ory Hydra, …).
 *
 * Not for Auth0: its `/oidc/register` creates open, third-party, interactive applications with
 * no client grant; use {@link auth0Registrar} there (docs/dcr.md).
 *
 * @see https://www.rfc-editor.org/rfc/rfc7591
 */
import * as client from 'openid-client';
import { ConfigError } from '../core/errors';
import { deepFreeze, parseShape, v } from '../core/config';
import { RegistrationError, codeForStatus, describeAnswer, isNetworkFailure } from './errors';
import { retryDelay } from './retry-after';
import { checkRegisterOptions } from './register-options';
import type { RegisterOptions, RegisteredApplication, RegistrarFetch } from './types';

/** Options of {@link openidRegistrar}. */
export interface OpenidRegistrarOptions {
  /** The provider's issuer identifier; its discovery document must advertise `registration_endpoint`. */
  issuer: string;
  /** The initial access token the provider requires for registration (RFC 7591 §3), if any. Never logged. */
  initialAccessToken?: string;
  /** How registered clients authenticate at the token endpoint. @defaultValue `'client_secret_post'` */
  tokenEndpointAuthMethod?: 'client_secret_post' | 'client_secret_basic';
  /** Scopes every registered client asks for (`scope` client metadata), if the provider restricts them. */
  scopes?: string[];
  /** Allow a plain-http issuer (local development and tests only). @defaultValue false */
  allowInsecure?: boolean;
  /** Milliseconds discovery and registration may each take. @defaultValue 10000 */
  timeout?: number;
  /** A fetch to use instead of the global one (a proxy agent, custom TLS); a seam, not a mock. */
  fetch?: RegistrarFetch;
}

/** The resolved, frozen options of an {@link OpenidRegistrar}, without the initial access token. */
export interface OpenidRegistrarConfig {
  readonly issuer: string;
  readonly tokenEndpointAuthMethod: 'client_secret_post' | 'client_secret_basic';
  readonly scopes?: readonly string[];
  readonly allowInsecure: boolean;
  readonly timeout: number;
}

/** What an RFC 7591 registration answers. */
export interface OpenidRegisteredApplication extends RegisteredApplication {
  /** RFC 7592 token for reading, updating or deleting the registration, if the provider issued one. */
  registrationAccessToken?: string;
  /** RFC 7592 URL of the registration, if the provider issued one. */
  registrationClientUri?: string;
  /** Epoch seconds at which the secret expires; 0 or absent means never. */
  clientSecretExpiresAt?: number;
}

/** Registers machine clients at an RFC 7591 registration endpoint. */
export interface OpenidRegistrar {
  readonly config: OpenidRegistrarConfig;
  /** Registers a `client_credentials` client with no redirect URIs and returns its credentials. */
  register(options: RegisterOptions): Promise<OpenidRegisteredApplication>;
}

const shape = {
  issuer: v.url(),
  initialAccessToken: v.optional(v.secret()),
  tokenEndpointAuthMethod: v.optional(v.oneOf(['client_secret_post', 'client_secret_basic'] as const), 'client_secret_post'),
  scopes: v.optional(v.array(v.custom<string>('a scope without spaces', (x) => typeof x === 'string' && /^\S+$/.test(x)))),
  allowInsecure: v.optional(v.boolean(), false),
  timeout: v.optional(v.integer({ min: 1 }), 10_000),
  fetch: v.optional(v.custom<RegistrarFetch>('a function', (x) => typeof x === 'function')),
};

const OP = 'openidRegistrar.register';

/** Maps what openid-client threw to a registration error naming the request that failed. */
function failure(err: unknown, request: string | undefined): RegistrationError {
  const base = { operation: OP, cause: err, ...(request ? { request } : {}) };
  const at = request ? `${request} ` : '';
  if (err instanceof client.ResponseBodyError) {
    const code = codeForStatus(err.status);
    const wait = code === 'ERR_DCR_RATE_LIMITED' ? retryDelay(err.response.headers) : undefined;
    return new RegistrationError(code, `${OP}: ${at}${describeAnswer(err.status, err.error, err.error_description)}`, {
      ...base,
      upstreamStatus: err.status,
      upstreamError: err.error,
      ...(wait !== undefined ? { retryAfter: Math.ceil(wait / 1000) } : {}),
    });
  }
  if (err instanceof client.WWWAuthenticateChallengeError) {
    const challenge = err.cause[0]?.parameters;
    return new RegistrationError('ERR_DCR_UNAUTHORIZED', `${OP}: ${at}${describeAnswer(err.status, challenge?.error, challenge?.error_description)}`, {
      ...base,
      upstreamStatus: err.status,
      ...(challenge?.error ? { upstreamError: challenge.error } : {}),
    });
  }
  const code = (err as { code?: unknown })?.code;
  if (isNetworkFailure(err)) {
    return new RegistrationError('ERR_DCR_UNREACHABLE', `${OP}: ${at}failed: the provider is unreachable or did not answer in time`, base);
  }
  if (code === 'OAUTH_MISSING_SERVER_METADATA' || code === 'OAUTH_INVALID_SERVER_METADATA') {
    return new RegistrationError('ERR_DCR_REQUEST_FAILED', `${OP}: the provider's discovery document advertises no usable registration_endpoint (is RFC 7591 registration enabled?)`, base);
  }
  if (code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' && err instanceof Error && err.cause instanceof Response) {
    const status = err.cause.status;
    const codeFor = codeForStatus(status);
    const wait = codeFor === 'ERR_DCR_RATE_LIMITED' ? retryDelay(err.cause.headers) : undefined;
    return new RegistrationError(codeFor, `${OP}: ${at}${describeAnswer(status)}`, {
      ...base,
      upstreamStatus: status,
      ...(wait !== undefined ? { retryAfter: Math.ceil(wait / 1000) } : {}),
    });
  }
  return new RegistrationError('ERR_DCR_REQUEST_FAILED', `${OP}: ${at}answered something that is not an RFC 7591 response`, base);
}

/**
 * Registers machine-to-machine clients (`grant_types: ['client_credentials']`, no response types,
 * no redirect URIs) at a provider's RFC 7591 registration endpoint.
 *
 * @example
 * ```ts
 * const registrar = openidRegistrar({ issuer: 'https://id.acme.example', initialAccessToken: process.env.DCR_IAT });
 * const { clientId, clientSecret } = await registrar.register({ name: 'Billing sync' });
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc7591#section-3.1
 */
export function openidRegistrar(options: OpenidRegistrarOptions): OpenidRegistrar {
  const parsed = parseShape({ plugin: 'openidRegistrar' }, shape, options);
  if (parsed.issuer.startsWith('http:') && !parsed.allowInsecure) {
    throw new ConfigError('openidRegistrar: "issuer" is plain http; set "allowInsecure": true to allow it (local development and tests only)', 'issuer');
  }
  const config: OpenidRegistrarConfig = deepFreeze({
    issuer: parsed.issuer,
    tokenEndpointAuthMethod: parsed.tokenEndpointAuthMethod,
    ...(parsed.scopes ? { scopes: parsed.scopes } : {}),
    allowInsecure: parsed.allowInsecure,
    timeout: parsed.timeout,
  });
  const initialAccessToken = parsed.initialAccessToken;
  const userFetch = parsed.fetch;

  async function register(input: RegisterOptions): Promise<OpenidRegisteredApplication> {
    const { name, metadata } = checkRegisterOptions(OP, input);
    // Which request failed is not in openid-client's errors; the fetch seam records it.
    let last: string | undefined;
    // openid-client's own timeout counts whole seconds; this one is exact, like auth0Registrar's.
    const doFetch: client.CustomFetch = (url, init) => {
      last = `${init.method ?? 'GET'} ${new URL(url).pathname}`;
      const signal = init.signal ? AbortSignal.any([init.signal, AbortSignal.timeout(config.timeout)]) : AbortSignal.timeout(config.timeout);
      const request = { ...(init as RequestInit), signal };
      return userFetch ? userFetch(url, request) : fetch(url, request);
    };
    let registered: client.Configuration;
    try {
      registered = await client.dynamicClientRegistration(
        new URL(config.issuer),
        {
          // Extra metadata first: the machine-client fields below must not be overridden.
          ...(metadata ?? {}),
          client_name: name,
          ...(config.scopes ? { scope: config.scopes.join(' ') } : {}),
          grant_types: ['client_credentials'],
          response_types: [],
          redirect_uris: [],
          token_endpoint_auth_method: config.tokenEndpointAuthMethod,
        },
        undefined,
        {
          ...(initialAccessToken ? { initialAccessToken } : {}),
          timeout: Math.max(1, Math.ceil(config.timeout / 1000)),
          [client.customFetch]: doFetch,
          ...(config.allowInsecure ? { execute: [client.allowInsecureRequests] } : {}),
        },
      );
    } catch (err) {
      throw failure(err, last);
    }
    const meta = registered.clientMetadata();
    const clientSecret = typeof meta.client_secret === 'string' && meta.client_secret ? meta.client_secret : undefined;
    if (!clientSecret) {
      throw new RegistrationError('ERR_DCR_REQUEST_FAILED', `${OP}: ${last ?? 'the registration'} answered without a client_secret`, { operation: OP, ...(last ? { request: last } : {}) });
    }
    const out: OpenidRegisteredApplication = { clientId: registered.clientMetadata().client_id, clientSecret };
    if (typeof meta.registration_access_token === 'string') out.registrationAccessToken = meta.registration_access_token;
    if (typeof meta.registration_client_uri === 'string') out.registrationClientUri = meta.registration_client_uri;
    if (typeof meta.client_secret_expires_at === 'number') out.clientSecretExpiresAt = meta.client_secret_expires_at;
    return out;
  }

  return Object.freeze({ config, register });
}

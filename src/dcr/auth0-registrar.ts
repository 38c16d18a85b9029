/**
 * `auth0Registrar()`: Konnect-style application registration through the Auth0 Management API.
 *
 * Auth0's own RFC 7591 endpoint (`/oidc/register`) creates open, third-party, interactive
 * applications with no client grant, so machine-to-machine applications are created the way Kong
 * Konnect's Auth0 provider does it: a client, then a client grant for the API audience.
 *
 * @see https://docs.konghq.com/konnect/dev-portal/applications/dynamic-client-registration/auth0/
 * @see https://auth0.com/docs/api/management/v2/clients/post-clients
 */
import { ConfigError } from '../core/errors';
import { parseShape, v, deepFreeze } from '../core/config';
import { RegistrationError } from './errors';
import { ManagementClient } from './management-client';
import { checkClientId, checkRegisterOptions } from './register-options';
import type { RegisterOptions, RegisteredApplication, RegistrarFetch } from './types';

/** Options of {@link auth0Registrar}. */
export interface Auth0RegistrarOptions {
  /** The tenant's canonical domain, e.g. `acme.us.auth0.com` (`https://` and a trailing `/` are tolerated). */
  domain: string;
  /** The admin application's client id: a machine-to-machine app authorised for the Management API. */
  clientId: string;
  /** The admin application's client secret. Never logged, never put in an error. */
  clientSecret: string;
  /** The API identifier every registered application is granted (`audience` of its tokens). */
  audience: string;
  /** The scopes every registered application is granted on `audience`. @defaultValue `[]` */
  scopes?: string[];
  /**
   * tollgate addition: where requests go instead of `https://<domain>` (tests, a local Auth0-shaped
   * server). The Management API audience stays `https://<domain>/api/v2/`. @defaultValue `https://<domain>`
   */
  baseUrl?: string;
  /** tollgate addition: allow a plain-http `baseUrl` (tests only). @defaultValue false */
  allowInsecure?: boolean;
  /** Milliseconds each request to Auth0 may take. @defaultValue 10000 */
  timeout?: number;
  /** How many times a 429 is retried after the wait Auth0 gives (`Retry-After`, `X-RateLimit-Reset`). @defaultValue 3 */
  maxRetries?: number;
  /** The longest wait in milliseconds a 429 may ask for and still be retried; longer fails at once. @defaultValue 10000 */
  maxRetryWait?: number;
  /** A fetch to use instead of the global one (a proxy agent, custom TLS); a seam, not a mock. */
  fetch?: RegistrarFetch;
}

/** The resolved, frozen options of an {@link Auth0Registrar}, without the secret. */
export interface Auth0RegistrarConfig {
  readonly domain: string;
  readonly clientId: string;
  readonly audience: string;
  readonly scopes: readonly string[];
  readonly baseUrl: string;
  readonly timeout: number;
  readonly maxRetries: number;
  readonly maxRetryWait: number;
}

/** Creates, re-keys and deletes machine-to-machine applications in one Auth0 tenant. */
export interface Auth0Registrar {
  readonly config: Auth0RegistrarConfig;
  /**
   * Creates a machine-to-machine application granted `audience` with `scopes`, and returns its
   * credentials. If the grant fails, the half-made application is deleted before the error is thrown.
   */
  register(options: RegisterOptions): Promise<RegisteredApplication>;
  /**
   * Gives an application a new secret and returns it. The old secret can keep working, and the
   * new one can be refused, for up to about 30 seconds while the change propagates.
   */
  rotateSecret(clientId: string): Promise<string>;
  /** Deletes an application (and with it its grants). */
  remove(clientId: string): Promise<void>;
}

const WHERE = { plugin: 'auth0Registrar' };

const shape = {
  domain: v.string(),
  clientId: v.string(),
  clientSecret: v.secret(),
  audience: v.string(),
  scopes: v.optional(v.array(v.custom<string>('a scope without spaces', (x) => typeof x === 'string' && /^\S+$/.test(x))), []),
  baseUrl: v.optional(v.url()),
  allowInsecure: v.optional(v.boolean(), false),
  timeout: v.optional(v.integer({ min: 1 }), 10_000),
  maxRetries: v.optional(v.integer({ min: 0, max: 10 }), 3),
  maxRetryWait: v.optional(v.integer({ min: 0 }), 10_000),
  fetch: v.optional(v.custom<RegistrarFetch>('a function', (x) => typeof x === 'function')),
};

/** `acme.us.auth0.com` from `acme.us.auth0.com`, `https://acme.us.auth0.com` or `https://acme.us.auth0.com/`. */
function normaliseDomain(domain: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(domain) ? domain : `https://${domain}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new ConfigError(`auth0Registrar: "domain" must be a tenant domain such as "acme.us.auth0.com", got ${JSON.stringify(domain)}`, 'domain');
  }
  if (url.protocol !== 'https:' || url.pathname !== '/' || url.search || url.hash || url.username) {
    throw new ConfigError(`auth0Registrar: "domain" must be a tenant domain such as "acme.us.auth0.com", got ${JSON.stringify(domain)}`, 'domain');
  }
  return url.host;
}

/**
 * Registers machine-to-machine applications in Auth0 through the Management API, as Kong Konnect's
 * developer portal does.
 *
 * The admin application needs `create:clients`, `delete:clients`, `create:client_grants` and
 * `update:client_keys` on the Management API (docs/dcr.md). Its Management token is cached until
 * shortly before it expires and shared by every call.
 *
 * @example
 * ```ts
 * const registrar = auth0Registrar({
 *   domain: 'acme.us.auth0.com',
 *   clientId: process.env.AUTH0_ADMIN_CLIENT_ID!,
 *   clientSecret: process.env.AUTH0_ADMIN_CLIENT_SECRET!,
 *   audience: 'https://api.acme.example',
 *   scopes: ['read:orders'],
 * });
 * const { clientId, clientSecret } = await registrar.register({ name: 'Billing sync', metadata: { developer_id: 'dev_42' } });
 * ```
 * @see https://auth0.com/docs/api/management/v2/client-grants/post-client-grants
 * @see https://auth0.com/docs/get-started/applications/rotate-client-secret
 */
export function auth0Registrar(options: Auth0RegistrarOptions): Auth0Registrar {
  const parsed = parseShape(WHERE, shape, options);
  const domain = normaliseDomain(parsed.domain);
  const baseUrl = (parsed.baseUrl ?? `https://${domain}`).replace(/\/+$/, '');
  if (baseUrl.startsWith('http:') && !parsed.allowInsecure) {
    throw new ConfigError('auth0Registrar: "baseUrl" is plain http; set "allowInsecure": true to allow it (tests only)', 'baseUrl');
  }
  const config: Auth0RegistrarConfig = deepFreeze({
    domain,
    clientId: parsed.clientId,
    audience: parsed.audience,
    scopes: parsed.scopes,
    baseUrl,
    timeout: parsed.timeout,
    maxRetries: parsed.maxRetries,
    maxRetryWait: parsed.maxRetryWait,
  });
  // Held in this closure only: the registrar object itself carries no secret to log by accident.
  const api = new ManagementClient({ ...config, clientSecret: parsed.clientSecret, allowInsecure: parsed.allowInsecure, ...(parsed.fetch ? { fetch: parsed.fetch } : {}) });

  async function register(input: RegisterOptions): Promise<RegisteredApplication> {
    const op = 'auth0Registrar.register';
    const { name, description, metadata } = checkRegisterOptions(op, input);
    const created = await api.request<{ client_id?: unknown; client_secret?: unknown }>(op, 'POST', '/api/v2/clients', {
      name,
      ...(description !== undefined ? { description } : {}),
      app_type: 'non_interactive',
      grant_types: ['client_credentials'],
      token_endpoint_auth_method: 'client_secret_post',
      ...(metadata ? { client_metadata: metadata } : {}),
    });
    const clientId = typeof created?.client_id === 'string' && created.client_id ? created.client_id : undefined;
    const clientSecret = typeof created?.client_secret === 'string' && created.client_secret ? created.client_secret : undefined;
    if (!clientId || !clientSecret) {
      const failure = new RegistrationError('ERR_DCR_REQUEST_FAILED', `${op}: POST /api/v2/clients answered without a client_id and client_secret`, {
        operation: op,
        request: 'POST /api/v2/clients',
      });
      throw clientId ? await undo(op, clientId, failure) : failure;
    }
    try {
      await api.request(op, 'POST', '/api/v2/client-grants', { client_id: clientId, audience: config.audience, scope: [...config.scopes] });
    } catch (err) {
      throw await undo(op, clientId, err as RegistrationError);
    }
    return { clientId, clientSecret };
  }

  /** Deletes a half-made application and says in the error whether that worked. */
  async function undo(op: string, clientId: string, failure: RegistrationError): Promise<RegistrationError> {
    const fields = {
      operation: failure.operation,
      cause: failure.cause ?? failure,
      ...(failure.request !== undefined ? { request: failure.request } : {}),
      ...(failure.upstreamStatus !== undefined ? { upstreamStatus: failure.upstreamStatus } : {}),
      ...(failure.upstreamError !== undefined ? { upstreamError: failure.upstreamError } : {}),
      ...(failure.retryAfter !== undefined ? { retryAfter: failure.retryAfter } : {}),
    };
    try {
      await api.request(op, 'DELETE', `/api/v2/clients/${encodeURIComponent(clientId)}`);
      return new RegistrationError(failure.code, `${failure.message}; the half-made application ${clientId} was deleted`, fields);
    } catch (cleanup) {
      const why = cleanup instanceof RegistrationError ? cleanup.message : 'an unexpected error';
      return new RegistrationError(failure.code, `${failure.message}; the half-made application ${clientId} could not be deleted (${why}): delete it by hand`, {
        ...fields,
        orphanedClientId: clientId,
      });
    }
  }

  async function rotateSecret(id: string): Promise<string> {
    const op = 'auth0Registrar.rotateSecret';
    const clientId = checkClientId(op, id);
    const path = `/api/v2/clients/${encodeURIComponent(clientId)}/rotate-secret`;
    const rotated = await api.request<{ client_secret?: unknown }>(op, 'POST', path);
    if (typeof rotated?.client_secret !== 'string' || rotated.client_secret.length === 0) {
      throw new RegistrationError('ERR_DCR_REQUEST_FAILED', `${op}: POST ${path} answered without a client_secret`, { operation: op, request: `POST ${path}` });
    }
    return rotated.client_secret;
  }

  async function remove(id: string): Promise<void> {
    const op = 'auth0Registrar.remove';
    const clientId = checkClientId(op, id);
    await api.request(op, 'DELETE', `/api/v2/clients/${encodeURIComponent(clientId)}`);
  }

  return Object.freeze({ config, register, rotateSecret, remove });
}

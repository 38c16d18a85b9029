/**
 * A minimal Auth0 Management API v2 client: a cached Management token, JSON requests, bounded
 * retries on 429, and Auth0's errors mapped to {@link RegistrationError}.
 *
 * Written here rather than depending on the `auth0` package: the registrar needs four endpoints,
 * and tollgate already has a cached, single-flight client-credentials token source; a second SDK
 * would bring its own token cache, retry policy and error classes to reconcile.
 *
 * @see https://auth0.com/docs/api/management/v2
 */
import { ClientCredentialsTokens, type ClientCredentials } from '../identity/client-credentials';
import { RegistrationError, describeAnswer } from './errors';
import { managementFailure, tokenFailure, tokenRateLimitHeaders } from './auth0-errors';
import { retryDelay } from './retry-after';
import type { RegistrarFetch } from './types';


/** How a {@link ManagementClient} reaches one tenant. */
export interface ManagementClientConfig {
  /** The tenant's canonical domain, e.g. `acme.us.auth0.com`. */
  readonly domain: string;
  /** Where requests go, without a trailing slash (`https://<domain>` unless overridden for tests). */
  readonly baseUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly allowInsecure: boolean;
  /** Milliseconds per request. */
  readonly timeout: number;
  /** Retries of a rate-limited request. */
  readonly maxRetries: number;
  /** The longest wait, in milliseconds, a 429 may ask for and still be retried. */
  readonly maxRetryWait: number;
  readonly fetch?: RegistrarFetch;
}

/** Why waiting without headers backs off exponentially: Auth0 usually sends them, but not always. */
const FALLBACK_BASE_MS = 500;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Calls the Management API of one Auth0 tenant with the admin application's credentials. */
export class ManagementClient {
  /** The Management token cache; exposed so tests can count token requests. */
  readonly tokens: ClientCredentialsTokens;
  private readonly creds: ClientCredentials;

  constructor(private readonly config: ManagementClientConfig) {
    const issuer = `https://${config.domain}/`;
    const metadata = Promise.resolve({ issuer, token_endpoint: `${config.baseUrl}/oauth/token` });
    this.tokens = new ClientCredentialsTokens({
      metadata: () => metadata,
      authMethod: 'client_secret_post',
      allowInsecure: config.allowInsecure,
      timeout: config.timeout,
      ...(config.fetch ? { fetch: (url, init) => config.fetch!(url, init as RequestInit) } : {}),
    });
    // The Management API's audience always ends in a slash (Kong's docs warn about `//api/v2/`).
    this.creds = { clientId: config.clientId, clientSecret: config.clientSecret, args: { audience: `${issuer}api/v2/` } };
  }

  /**
   * Sends one Management API request and returns its parsed JSON (undefined for an empty answer).
   *
   * @param operation - the registrar method, named in errors (`auth0Registrar.register`)
   * @throws RegistrationError for every failure, never a secret in it
   */
  async request<T>(operation: string, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T | undefined> {
    const label = `${method} ${path}`;
    let rateLimited = 0;
    let refreshed = false;
    for (;;) {
      let token: string;
      try {
        token = (await this.tokens.get(this.creds)).accessToken;
      } catch (err) {
        const headers = tokenRateLimitHeaders(err);
        const wait = headers ? this.waitFor(headers, rateLimited) : undefined;
        if (wait !== undefined && wait.retry) {
          rateLimited++;
          await sleep(wait.ms);
          continue;
        }
        throw tokenFailure(operation, err, wait && Math.ceil(wait.ms / 1000));
      }

      const response = await this.send(operation, label, method, path, token, body);
      if (response.status === 429) {
        const wait = this.waitFor(response.headers, rateLimited);
        await response.body?.cancel();
        if (wait.retry) {
          rateLimited++;
          await sleep(wait.ms);
          continue;
        }
        throw managementFailure(operation, label, 429, undefined, Math.ceil(wait.ms / 1000));
      }
      if (response.status === 401 && !refreshed) {
        // A cached token can be revoked or expire early; one fresh token settles which it is.
        refreshed = true;
        await response.body?.cancel();
        await this.tokens.invalidate(this.creds);
        continue;
      }
      return this.read<T>(operation, label, response);
    }
  }

  /** How long to wait before retrying a 429, and whether the bounds allow it. */
  private waitFor(headers: Headers, attempt: number): { ms: number; retry: boolean } {
    const asked = retryDelay(headers);
    const ms = asked ?? Math.min(this.config.maxRetryWait, FALLBACK_BASE_MS * 2 ** attempt);
    return { ms, retry: attempt < this.config.maxRetries && ms <= this.config.maxRetryWait };
  }

  private async send(operation: string, label: string, method: string, path: string, token: string, body: unknown): Promise<Response> {
    const doFetch = this.config.fetch ?? ((url: string, init: RequestInit) => fetch(url, init));
    try {
      return await doFetch(`${this.config.baseUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.config.timeout),
      });
    } catch (err) {
      const timedOut = (err as { name?: string })?.name === 'TimeoutError';
      // Anything fetch throws means no answer arrived; the cause says which.
      throw new RegistrationError(
        'ERR_DCR_UNREACHABLE',
        `${operation}: ${label} ${timedOut ? `got no answer within ${this.config.timeout} ms` : 'failed: Auth0 is unreachable'}`,
        { operation, request: label, cause: err },
      );
    }
  }

  private async read<T>(operation: string, label: string, response: Response): Promise<T | undefined> {
    let text: string;
    try {
      text = await response.text();
    } catch (err) {
      throw new RegistrationError('ERR_DCR_UNREACHABLE', `${operation}: ${label} failed while its answer was read`, { operation, request: label, cause: err });
    }
    let json: unknown;
    try {
      json = text.length ? JSON.parse(text) : undefined;
    } catch {
      // Never quote the text: a success body holds the new application's secret.
      json = undefined;
      if (response.ok) {
        throw new RegistrationError('ERR_DCR_REQUEST_FAILED', `${operation}: ${label} ${describeAnswer(response.status)} with a body that is not JSON`, {
          operation,
          request: label,
          upstreamStatus: response.status,
        });
      }
    }
    if (response.ok) return json as T | undefined;
    throw managementFailure(operation, label, response.status, json);
  }
}

/**
 * OpenID Connect discovery through openid-client, cached, single-flight, with a timeout that
 * aborts and failures retried with backoff (never cached forever).
 *
 * The lesson of express-oauth2-jwt-bearer #93 (a failed discovery cached until restart) and of its
 * unenforced discovery timeout (shared/reference/node-anchors.md §1.7): a rejected attempt is kept
 * only for a short, growing backoff window, and every request is aborted at `timeout`.
 *
 * @see https://openid.net/specs/openid-connect-discovery-1_0.html
 */
import * as client from 'openid-client';
import { idpFailure } from './client-credentials';
import type { IdentityProviderError } from '../core/errors';
import { discoveryUrl, traceIdp, type IdpTrace } from './trace';

/** How {@link IssuerDiscovery} reaches the issuer. */
export interface DiscoveryOptions {
  /** Allow a plain-http issuer (local development and tests only). @defaultValue false */
  allowInsecure?: boolean;
  /** Milliseconds before a discovery request is aborted. @defaultValue 10000 */
  timeout?: number;
  /** Milliseconds a failure is answered from memory before the first retry; doubles per failure. @defaultValue 1000 */
  retryMin?: number;
  /** The longest backoff between retries, in milliseconds. @defaultValue 30000 */
  retryMax?: number;
  /** Test seam: a fetch implementation (openid-client's `customFetch`). */
  fetch?: client.CustomFetch;
}

/** The metadata an issuer published (`issuer`, `jwks_uri`, `token_endpoint`, …). */
export type IssuerMetadata = Readonly<client.ServerMetadata>;

/**
 * The metadata of one issuer, discovered on first use and kept.
 *
 * `issuer` may be the issuer identifier (`https://TENANT.us.auth0.com/`, checked against the
 * `issuer` the document declares) or the full `.well-known/openid-configuration` URL.
 *
 * @example
 * ```ts
 * const discovery = new IssuerDiscovery('https://TENANT.us.auth0.com/');
 * const { token_endpoint } = await discovery.get();
 * ```
 */
export class IssuerDiscovery {
  /** The metadata, once discovered: lets hot paths stay synchronous. */
  current: IssuerMetadata | undefined = undefined;
  /** How many discovery requests were sent (for tests). */
  requests = 0;
  private inflight: Promise<IssuerMetadata> | undefined;
  private failure: { error: IdentityProviderError; until: number } | undefined;
  private failures = 0;
  private readonly url: URL;
  private readonly opts: Required<Omit<DiscoveryOptions, 'fetch'>> & Pick<DiscoveryOptions, 'fetch'>;

  constructor(issuer: string, options: DiscoveryOptions = {}) {
    this.url = new URL(issuer);
    this.opts = { allowInsecure: false, timeout: 10_000, retryMin: 1000, retryMax: 30_000, ...options };
  }

  /**
   * The issuer's metadata: cached, or from the request under way, or from a new request.
   *
   * @throws IdentityProviderError 503 when the issuer cannot be reached or timed out, 502 when it
   * answered something that is not valid discovery metadata. Within the backoff window after a
   * failure the same error is thrown again without a request.
   */
  get(): Promise<IssuerMetadata> {
    if (this.current) return Promise.resolve(this.current);
    if (this.inflight) return this.inflight;
    if (this.failure && this.failure.until > Date.now()) return Promise.reject(this.failure.error);
    this.inflight = traceIdp('discovery', 'GET', discoveryUrl(this.url), (trace) => this.discover(trace)).finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  private async discover(trace: IdpTrace | undefined): Promise<IssuerMetadata> {
    this.requests++;
    const fetchImpl: client.CustomFetch = this.opts.fetch ?? ((url, init) => fetch(url, init as RequestInit));
    const timeout = this.opts.timeout;
    // openid-client's own timeout has a one-second granularity; this one is exact and aborts.
    const aborting: client.CustomFetch = (url, init) => {
      const mine = AbortSignal.timeout(timeout);
      const answer = fetchImpl(url, { ...init, signal: init.signal ? AbortSignal.any([init.signal, mine]) : mine });
      return trace ? answer.then(trace.saw) : answer;
    };
    try {
      const config = await client.discovery(this.url, 'tollgate', undefined, undefined, {
        [client.customFetch]: aborting,
        timeout: Math.max(1, Math.ceil(timeout / 1000)),
        execute: this.opts.allowInsecure ? [client.allowInsecureRequests] : [],
      });
      const metadata = Object.freeze({ ...config.serverMetadata() });
      if (typeof metadata.issuer !== 'string' || metadata.issuer.length === 0) throw new TypeError('discovery document without issuer');
      this.current = metadata;
      this.failure = undefined;
      this.failures = 0;
      return metadata;
    } catch (err) {
      const error = idpFailure(err, 'discovery');
      this.failures++;
      const backoff = Math.min(this.opts.retryMax, this.opts.retryMin * 2 ** (this.failures - 1));
      this.failure = { error, until: Date.now() + backoff };
      throw error;
    }
  }
}

/**
 * A metadata source for {@link ClientCredentialsTokens} (and anything else that takes
 * `metadata: () => Promise<ServerMetadata>`), backed by one cached {@link IssuerDiscovery}.
 *
 * @example
 * ```ts
 * const tokens = new ClientCredentialsTokens({ metadata: discoverMetadata('https://TENANT.us.auth0.com/') });
 * ```
 */
export function discoverMetadata(issuer: string, options?: DiscoveryOptions): () => Promise<client.ServerMetadata> {
  const discovery = new IssuerDiscovery(issuer, options);
  return () => discovery.get();
}

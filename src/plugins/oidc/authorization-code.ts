/**
 * The authorization code flow (OAuth 2.0 with PKCE, OpenID Connect): the redirect of a browser to
 * the identity provider, and the callback that exchanges the code for tokens.
 *
 * - PKCE S256 always (RFC 9700 §2.1.1), whatever discovery says (Kong skips it when discovery does
 *   not list `code_challenge_methods_supported`), plus `state` and `nonce` of 256 bits each.
 * - The transaction (verifier, state, nonce, the page first asked for, an expiry) is sealed in a
 *   short-lived HttpOnly cookie, named after the session cookie, and read once: the callback
 *   clears it whatever happens.
 * - The page to return to is a path of this host only: leading slashes and backslashes are
 *   collapsed, so `//evil.example` can never become a redirect off-site.
 * - The callback goes through openid-client's `authorizationCodeGrant`, which checks the state,
 *   the `iss` of the response (RFC 9207, when the provider supports it), the PKCE verifier and
 *   the ID token (issuer, audience, expiry, nonce).
 *
 * @see https://www.rfc-editor.org/rfc/rfc7636 — PKCE
 * @see https://openid.net/specs/openid-connect-core-1_0.html#CodeFlowAuth
 */
import * as client from 'openid-client';
import type { RequestContext } from '../../core/context';
import { BadRequestError, UnauthorizedError } from '../../core/errors';
import { clearCookie, cookieName, serializeCookie } from './cookies';
import type { OidcLoginConfig } from './login-options';
import type { SessionTokens } from './session';
import type { CookieJar } from './session-store';
import type { Sealer } from './session-crypto';
import { providerFault, type WebClient } from './web-client';

/** Seconds the transaction cookie lives (Kong's `authorization_rolling_timeout`). */
export const TRANSACTION_LIFETIME = 600;

/** What the transaction cookie holds. */
interface Transaction {
  /** PKCE code verifier. */
  readonly v: string;
  readonly state: string;
  readonly nonce: string;
  /** The path (and query) to return to. */
  readonly to: string;
  /** Epoch seconds after which the transaction is refused. */
  readonly exp: number;
}

const isTransaction = (x: unknown): x is Transaction => {
  const t = x as Partial<Transaction> | null;
  return typeof t === 'object' && t !== null && typeof t.v === 'string' && typeof t.state === 'string' && typeof t.nonce === 'string' && typeof t.to === 'string' && typeof t.exp === 'number';
};

/** The page a request asked for, as a path of this host (never `//host`, never a full URL). */
export function returnPath(ctx: RequestContext): string {
  const path = ctx.request.originalPath.replace(/^[/\\]+/, '/');
  return ctx.request.search ? `${path}?${ctx.request.search}` : path;
}

/** A login the callback could not complete: 400 (or 401 when the identity provider or the user refused), never a session. */
export function loginFailed(reason: string, cause?: unknown): BadRequestError | UnauthorizedError {
  const why = new Error(reason, cause === undefined ? undefined : { cause });
  if (reason.startsWith('idp_error:')) return new UnauthorizedError('The identity provider refused the login', { cause: why });
  return new BadRequestError('The login could not be completed; start again from the page you asked for', { cause: why });
}

/** The result of a completed callback. */
export interface CompletedLogin {
  readonly tokens: SessionTokens;
  /** Where the browser goes next. */
  readonly location: string;
}

/** Starts logins and completes their callbacks for one plugin. */
export class AuthorizationCodeFlow {
  constructor(
    private readonly login: OidcLoginConfig,
    private readonly web: WebClient,
    private readonly sealer: Sealer,
    private readonly now: () => number,
  ) {}

  /** The transaction cookie's name for this request. */
  transactionName(jar: CookieJar): string {
    return cookieName(`${this.login.sessionCookieName}_authorization`, jar.secure);
  }

  /**
   * The redirect to the authorization endpoint, with the transaction cookie set.
   *
   * @returns the `Location` and the `Set-Cookie` line of the transaction.
   * @throws IdentityProviderError when the issuer cannot be discovered.
   */
  async start(ctx: RequestContext, jar: CookieJar): Promise<{ location: string; cookie: string }> {
    const configuration = await this.web.configuration();
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(configuration, {
      ...this.login.authorizationQueryArgs,
      redirect_uri: this.login.redirectUri!,
      scope: this.login.scopes.join(' '),
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    const transaction: Transaction = { v: verifier, state, nonce, to: returnPath(ctx), exp: Math.floor(this.now() / 1000) + TRANSACTION_LIFETIME };
    const cookie = serializeCookie(this.transactionName(jar), await this.sealer.seal(transaction), { secure: jar.secure, maxAge: TRANSACTION_LIFETIME });
    return { location: url.href, cookie };
  }

  /** Whether the request carries a transaction cookie at all. */
  hasTransaction(jar: CookieJar): boolean {
    return jar.cookies.has(this.transactionName(jar));
  }

  /** The `Set-Cookie` line that clears the transaction (sent with every callback answer). */
  clearTransaction(jar: CookieJar): string {
    return clearCookie(this.transactionName(jar), jar.secure);
  }

  /**
   * Completes a callback: the transaction is checked, then the code exchanged.
   *
   * @throws BadRequestError / UnauthorizedError for anything the client or the user caused (a
   *   missing or expired transaction, a forged state, a replayed code, an error the identity
   *   provider sent back).
   * @throws IdentityProviderError when the identity provider cannot be reached or answers garbage.
   */
  async complete(ctx: RequestContext, jar: CookieJar): Promise<CompletedLogin> {
    const sealed = jar.cookies.get(this.transactionName(jar));
    if (sealed === undefined) throw loginFailed('missing_transaction_cookie');
    const transaction = await this.sealer.open(sealed);
    if (!isTransaction(transaction)) throw loginFailed('invalid_transaction_cookie');
    if (transaction.exp <= Math.floor(this.now() / 1000)) throw loginFailed('expired_transaction');
    const error = ctx.request.query.error;
    if (typeof error === 'string') throw loginFailed(`idp_error:${error.slice(0, 64)}`);
    const configuration = await this.web.configuration();
    const currentUrl = new URL(this.login.redirectUri!);
    currentUrl.search = ctx.request.search;
    let response: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    try {
      response = await client.authorizationCodeGrant(configuration, currentUrl, {
        pkceCodeVerifier: transaction.v,
        expectedState: transaction.state,
        expectedNonce: transaction.nonce,
        idTokenExpected: true,
      });
    } catch (err) {
      throw providerFault(err, 'token endpoint') ?? loginFailed(reasonOf(err), err);
    }
    return { tokens: tokensOf(response, this.now()), location: this.login.loginRedirectUri ?? transaction.to };
  }
}

/** A short reason for the log: the OAuth error or the check that failed. */
function reasonOf(err: unknown): string {
  if (err instanceof client.ResponseBodyError || err instanceof client.AuthorizationResponseError) return `grant_refused:${err.error}`;
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? `check_failed:${code}` : 'check_failed';
}

/** Access tokens without `expires_in` are assumed to last this long (seconds). */
const DEFAULT_LIFETIME = 300;

/**
 * The session tokens of a token response. `previous` keeps what a refresh did not return (a
 * refresh token that is not rotated, the ID token of the login).
 */
export function tokensOf(response: client.TokenEndpointResponse, now: number, previous?: SessionTokens): SessionTokens {
  if (typeof response.access_token !== 'string' || response.access_token.length === 0) throw new TypeError('token response without access_token');
  const lifetime = typeof response.expires_in === 'number' && response.expires_in > 0 ? response.expires_in : DEFAULT_LIFETIME;
  const refreshToken = response.refresh_token ?? previous?.refreshToken;
  const idToken = response.id_token ?? previous?.idToken;
  const scope = response.scope ?? previous?.scope;
  return {
    accessToken: response.access_token,
    tokenType: response.token_type ?? 'Bearer',
    expiresAt: now + lifetime * 1000,
    ...(refreshToken ? { refreshToken } : {}),
    ...(idToken ? { idToken } : {}),
    ...(scope ? { scope } : {}),
  };
}

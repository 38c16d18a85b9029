/**
 * End-user login for the `oidc` plugin (`authMethods` `authorization_code` and `session`): what
 * index.ts calls when a request is the callback or the logout, or presents no machine credential.
 *
 * - A browser navigation without a valid session is redirected to the identity provider; any
 *   other request (fetch/XHR, an API client, a POST) gets 401 with the `WWW-Authenticate: Bearer`
 *   challenge — never a redirect it cannot follow.
 * - With a session the request goes on with `Authorization: Bearer <access token>`, the consumer
 *   from `consumerClaim` (the ID token's claims first, then the access token's), a credential of
 *   type `session`, and without the session cookies, which stay at the gateway.
 * - Cookies a request must set are answered with its early exit, or added by the plugin's
 *   `headerFilter` to the response the app or the upstream writes.
 */
import { hash } from 'node:crypto';
import { decodeJwt } from 'jose';
import { LRUCache } from 'lru-cache';
import type { RequestContext } from '../../core/context';
import { InternalError, renderError, TollgateError } from '../../core/errors';
import { describeError, type Logger } from '../../core/logger';
import type { IssuerDiscovery } from '../../identity/discovery';
import { claimAt, valuesOf } from './authorization';
import { AuthorizationCodeFlow } from './authorization-code';
import { looksLikeJwt } from './bearer';
import type { Challenges } from './challenge';
import { parseCookies, withoutCookies } from './cookies';
import type { OidcLoginConfig, OidcLoginSecrets } from './login-options';
import { endSessionUrl, revokeTokens } from './logout';
import type { OidcConfig } from './options';
import { applyPrincipal, buildPrincipal, type Principal } from './principal';
import { RefreshRefused, TokenRefresher } from './refresh';
import { newSessionId, SessionClock, type SessionRecord, type SessionTokens } from './session';
import { Sealer } from './session-crypto';
import { CookieSessionStore, RedisSessionStore, type CookieJar, type SessionStore } from './session-store';
import { WebClient } from './web-client';

/** The plugin's per-request state this module uses. */
type Local = Record<string, unknown>;
const PENDING = 'loginCookies';

/** An access token is refreshed when it expires within this many seconds (plus `leeway`). */
const REFRESH_SKEW = 10;

const sha256 = (s: string): string => hash('sha256', s, 'base64url');

/** Whether `Accept` lists `text/html` (with a non-zero q). */
function acceptsHtml(accept: string | undefined): boolean {
  if (!accept) return false;
  for (const part of accept.split(',')) {
    const [type, ...params] = part.split(';');
    if (type!.trim().toLowerCase() !== 'text/html') continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  }
  return false;
}

/**
 * Whether a request is a browser's page navigation: it accepts HTML, is not XHR, and is not a
 * `fetch()` (Sec-Fetch-Mode other than `navigate`). Only those can follow a login redirect.
 */
export function isNavigation(ctx: RequestContext, anyMethod = false): boolean {
  const method = ctx.request.method;
  if (!anyMethod && method !== 'GET' && method !== 'HEAD') return false;
  if (!acceptsHtml(ctx.request.header('accept'))) return false;
  if (ctx.request.header('x-requested-with')?.toLowerCase() === 'xmlhttprequest') return false;
  const mode = ctx.request.header('sec-fetch-mode');
  return mode === undefined || mode === 'navigate';
}

const decoded = (token: string | undefined): Record<string, unknown> => {
  if (token === undefined || !looksLikeJwt(token)) return {};
  try {
    return decodeJwt(token);
  } catch {
    return {};
  }
};

/** Login, sessions and logout for one `oidc()` instance. */
export class LoginFlow {
  private readonly store: SessionStore;
  private readonly code: AuthorizationCodeFlow | undefined;
  private readonly refresher: TokenRefresher;
  private readonly clock: SessionClock;
  private readonly web: WebClient;
  private readonly now: () => number;
  private readonly principals = new LRUCache<string, Principal>({ max: 1000 });

  constructor(
    private readonly config: OidcConfig,
    private readonly login: OidcLoginConfig,
    secrets: OidcLoginSecrets,
    discovery: IssuerDiscovery,
    private readonly challenges: Challenges,
    /** The plugin's own logger, if it was given one (else the gateway's, `ctx.log`). */
    private readonly logger: Logger | undefined,
  ) {
    this.now = secrets.now;
    this.clock = new SessionClock(login);
    this.web = new WebClient(config, login.clientId, secrets.clientSecret, discovery);
    const sessions = new Sealer(secrets.sessionSecrets, 'session');
    this.store = secrets.redis
      ? new RedisSessionStore(login.sessionCookieName, secrets.redis, sessions, this.clock, this.now, logger)
      : new CookieSessionStore(login.sessionCookieName, sessions, this.clock);
    this.code = login.redirectUri ? new AuthorizationCodeFlow(login, this.web, new Sealer(secrets.sessionSecrets, 'transaction'), this.now) : undefined;
    this.refresher = new TokenRefresher(this.web, this.now);
  }

  /** Answers the callback and the logout; undefined for any other request (two string compares). */
  route(ctx: RequestContext): Promise<void> | undefined {
    const path = ctx.request.originalPath;
    const method = ctx.request.method;
    if (this.code && path === this.login.redirectPath && (method === 'GET' || method === 'HEAD')) return this.callback(ctx, this.code);
    if (path === this.login.logoutUri && this.login.logoutMethods.includes(method)) return this.logout(ctx);
    return undefined;
  }

  /**
   * A request without machine credentials: its session, or a login redirect for a browser
   * navigation, or 401. Never throws: every answer is an exit with the cookies it must set.
   */
  async authenticate(ctx: RequestContext, local: Local): Promise<void> {
    const jar = this.jar(ctx);
    const out: string[] = [];
    try {
      const tokens = await this.session(jar, out);
      if (tokens) {
        applyPrincipal(ctx, this.principalOf(tokens));
        const cookie = ctx.request.header('cookie');
        if (cookie !== undefined) {
          const rest = withoutCookies(cookie, [this.store.name(jar), ...(this.code ? [this.code.transactionName(jar)] : [])]);
          if (rest === undefined) ctx.request.removeHeader('cookie');
          else ctx.request.setHeader('cookie', rest);
        }
        if (out.length > 0) local[PENDING] = out;
        return;
      }
      if (this.code && isNavigation(ctx)) {
        const { location, cookie } = await this.code.start(ctx, jar);
        out.push(cookie);
        ctx.exit(302, undefined, { Location: location, 'Set-Cookie': out, 'Cache-Control': 'no-store' });
        return;
      }
      throw this.challenges.missing(new Error('no valid session'));
    } catch (err) {
      this.fail(ctx, err, out);
    }
  }

  /** Adds the cookies `authenticate` left for the response the app or upstream writes. */
  headerFilter(ctx: RequestContext, local: Local): void {
    const cookies = local[PENDING] as string[] | undefined;
    if (!cookies) return;
    local[PENDING] = undefined;
    const prev = ctx.response.getHeader('set-cookie');
    ctx.response.setHeader('Set-Cookie', prev === undefined ? cookies : [...(Array.isArray(prev) ? prev : [String(prev)]), ...cookies]);
  }

  /** Releases the Redis client the session store created, if any. */
  close(): Promise<void> {
    return this.store.close();
  }

  private log(ctx: RequestContext): Logger {
    return this.logger ?? ctx.log;
  }

  private jar(ctx: RequestContext): CookieJar {
    return { cookies: parseCookies(ctx.request.header('cookie')), secure: ctx.request.protocol === 'https', log: this.log(ctx) };
  }

  /**
   * The valid session's tokens (refreshed when expired), with what must be written back in `out`;
   * undefined when there is none, after clearing what was left of it.
   */
  private async session(jar: CookieJar, out: string[]): Promise<SessionTokens | undefined> {
    const record = await this.store.load(jar);
    const nowMs = this.now();
    const now = Math.floor(nowMs / 1000);
    if (!record || !this.clock.valid(record, now)) {
      // Tampered, expired, unknown, made with a secret no longer listed: no session, and the
      // cookie is dropped (Kong's unauthorized_destroy_session).
      if (jar.cookies.has(this.store.name(jar)) || jar.cookies.has(`${this.store.name(jar)}.0`)) await this.store.destroy(jar, record, out);
      return undefined;
    }
    let tokens = record.tokens;
    let refreshed = false;
    if (tokens.expiresAt - (REFRESH_SKEW + this.config.leeway) * 1000 <= nowMs) {
      const refreshToken = tokens.refreshToken;
      if (!this.login.refreshTokens || refreshToken === undefined) {
        await this.store.destroy(jar, record, out);
        return undefined;
      }
      try {
        tokens = await this.refresher.refresh({ ...tokens, refreshToken });
        refreshed = true;
      } catch (err) {
        if (!(err instanceof RefreshRefused)) throw err;
        jar.log.debug('oidc: session ended, the refresh token was refused', describeError(err.cause));
        await this.store.destroy(jar, record, out);
        return undefined;
      }
    }
    const renewal = this.clock.renewal(record, now);
    if (refreshed || renewal) {
      const next: SessionRecord = renewal === 'roll' ? { ...record, sid: newSessionId(), rat: now, uat: now, tokens } : { ...record, uat: now, tokens };
      await this.store.save(jar, next, record, out, true);
    }
    return tokens;
  }

  /** The principal of a session's tokens, computed once per pair of tokens. */
  private principalOf(tokens: SessionTokens): Principal {
    const key = sha256(`${tokens.accessToken}\n${tokens.idToken ?? ''}`);
    const hit = this.principals.get(key);
    if (hit) return hit;
    const idClaims = decoded(tokens.idToken);
    // Read, not verified: the tokens came from the token endpoint over a connection the plugin
    // opened, and were kept sealed since (the ID token was verified at login).
    const accessClaims = decoded(tokens.accessToken);
    // Scopes are the access token's (its claim, else the token response's `scope`), never the ID token's.
    const accessScopes = valuesOf(claimAt(accessClaims, this.config.scopesClaim));
    const base = buildPrincipal(this.config, this.challenges, {
      type: 'session',
      claims: { ...accessClaims, ...idClaims },
      fallbackId: sha256(tokens.accessToken).slice(0, 22),
      scopes: accessScopes.length > 0 ? accessScopes : (tokens.scope?.split(' ').filter(Boolean) ?? []),
      expiresAt: tokens.expiresAt,
      extraHeaders: [['authorization', `Bearer ${tokens.accessToken}`]],
    });
    // The user, not the application: the ID token's claims are looked at before the access
    // token's (whose `azp` names the web application).
    const consumer = this.consumerOf(idClaims) ?? this.consumerOf(accessClaims);
    const { consumer: _merged, ...rest } = base;
    const principal: Principal = Object.freeze({ ...rest, ...(consumer ? { consumer: Object.freeze(consumer) } : {}) });
    this.principals.set(key, principal);
    return principal;
  }

  private consumerOf(claims: Record<string, unknown>): { id: string } | undefined {
    for (const name of this.config.consumerClaim) {
      const value = claims[name];
      if ((typeof value === 'string' && value.length > 0) || typeof value === 'number') return { id: String(value) };
    }
    return undefined;
  }

  private async callback(ctx: RequestContext, code: AuthorizationCodeFlow): Promise<void> {
    const jar = this.jar(ctx);
    const out: string[] = code.hasTransaction(jar) ? [code.clearTransaction(jar)] : [];
    try {
      const previous = await this.store.load(jar);
      const now = Math.floor(this.now() / 1000);
      if (!code.hasTransaction(jar) && previous && this.clock.valid(previous, now)) {
        // A callback opened again (the back button) by a browser that is signed in: no new
        // session, back to where a login would have gone.
        ctx.exit(302, undefined, { Location: this.login.loginRedirectUri ?? (ctx.request.mountPath || '/'), 'Cache-Control': 'no-store' });
        return;
      }
      const { tokens, location } = await code.complete(ctx, jar);
      // A new id at every login (session fixation); with Redis the previous record is deleted.
      await this.store.save(jar, this.clock.create(tokens, now), previous, out);
      ctx.exit(302, undefined, { Location: location, 'Set-Cookie': out, 'Cache-Control': 'no-store' });
    } catch (err) {
      this.fail(ctx, err, out);
    }
  }

  private async logout(ctx: RequestContext): Promise<void> {
    const jar = this.jar(ctx);
    const out: string[] = [];
    try {
      const record = await this.store.load(jar);
      await this.store.destroy(jar, record, out);
      if (record && this.login.logoutRevoke) await revokeTokens(this.web, record.tokens, jar.log);
      let location = this.login.logoutRedirectUri;
      try {
        location = endSessionUrl(await this.web.configuration(), await this.web.metadata(), this.login.clientId, record?.tokens.idToken, this.login.logoutRedirectUri) ?? location;
      } catch (err) {
        jar.log.warn('oidc: logged out locally only: the issuer could not be discovered', describeError(err));
      }
      const headers = { 'Cache-Control': 'no-store', ...(out.length > 0 ? { 'Set-Cookie': out } : {}) };
      // A page (a form's POST, a link) follows the redirect; fetch/XHR gets 204 and goes on itself.
      if (location !== undefined && isNavigation(ctx, true)) ctx.exit(ctx.request.method === 'GET' ? 302 : 303, undefined, { ...headers, Location: location });
      else ctx.exit(204, undefined, headers);
    } catch (err) {
      this.fail(ctx, err, out);
    }
  }

  /** Ends the request with the rendering of `err` and the cookies it must still set. */
  private fail(ctx: RequestContext, err: unknown, cookies: string[]): void {
    const known = err instanceof TollgateError ? err : new InternalError('login flow failed', { cause: err });
    const log = this.log(ctx);
    if (known.status < 500) log.debug(`oidc: refused with ${known.status}`, describeError(known.cause ?? known));
    else log.warn(`oidc: login flow failed: ${known.message}`, describeError(known.cause ?? known));
    const r = renderError(known, ctx.requestId);
    ctx.exit(r.status, r.body, { ...r.headers, 'Cache-Control': 'no-store', ...(cookies.length > 0 ? { 'Set-Cookie': cookies } : {}) });
  }
}

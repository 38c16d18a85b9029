/**
 * End-user login at the test issuer, shaped like Auth0's: `/authorize` with one simple page that
 * signs a user in and asks for consent, the `authorization_code` (PKCE S256 checked when sent) and
 * `refresh_token` grants, `/oauth/revoke` (RFC 7009), the end-session endpoint `/oidc/logout`
 * and Auth0's own `/v2/logout`.
 *
 * Auth0's shapes: an ID token with `sub: auth0|<username>`, `aud: <client id>`, `nonce` and `sid`;
 * an access token that is a JWT for the API named by the `audience` argument (with `azp` and
 * `scope`), opaque without one; a refresh token only when `offline_access` is granted; the
 * callback and logout URLs checked against the client's allowed lists when it has them.
 *
 * @see https://auth0.com/docs/get-started/authentication-and-authorization-flow/authorization-code-flow-with-pkce
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JWTPayload } from 'jose';
import { readForm, type TestClient } from './issuer-clients';
import type { KeyRing } from './issuer-keys';

/** A user who can sign in at the test issuer's login page. */
export interface TestUser {
  username: string;
  password: string;
  /** Claims added to the user's ID token (`email`, `name`, roles under a namespaced claim…). `sub` defaults to `auth0|<username>`. */
  claims?: JWTPayload;
}

/** How {@link TestIssuer.authorize} fills in the login page. */
export interface TestAuthorizeOptions {
  /** @defaultValue the first registered user */
  username?: string;
  /** @defaultValue that user's password */
  password?: string;
  /** `false` presses "Deny": the callback gets `error=access_denied`. @defaultValue true */
  consent?: boolean;
}

/** What login needs from the issuer it is part of. */
export interface LoginContext {
  readonly base: () => string;
  readonly ring: KeyRing;
  readonly clients: ReadonlyMap<string, TestClient>;
  readonly users: Map<string, TestUser>;
  readonly tokenLifetime: number;
  readonly refreshTokenRotation: boolean;
  /** Registers an opaque access token so introspection knows it. */
  readonly registerOpaque: (token: string, claims: JWTPayload) => void;
}

/** A pending authorization (between the page and its form) or an issued code: what the request asked for. */
interface Grant {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly scope: string[];
  readonly audience?: string;
  readonly state?: string;
  readonly nonce?: string;
  readonly codeChallenge?: string;
  readonly user?: TestUser;
  readonly sid?: string;
  readonly expiresAt: number;
}

const random = (): string => randomBytes(24).toString('base64url');
const now = (): number => Math.floor(Date.now() / 1000);
const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
function page(res: ServerResponse, status: number, title: string, body: string): void {
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(html) });
  res.end(html);
}

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(302, { location, 'cache-control': 'no-store', 'content-length': 0 });
  res.end();
}

/** The test issuer's login, grants and logout. */
export class LoginEndpoints {
  /** Pending authorizations by the id in their page's form. */
  private readonly pending = new Map<string, Grant>();
  private readonly codes = new Map<string, Grant>();
  private readonly refreshTokens = new Map<string, Grant>();

  constructor(private readonly ctx: LoginContext) {}

  /** `GET /authorize`: checks the request, then shows the login and consent page. */
  async authorizePage(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    const client = this.ctx.clients.get(q.get('client_id') ?? '');
    const redirectUri = q.get('redirect_uri') ?? '';
    // Like Auth0, a request that cannot be trusted to redirect is answered with a page, not a redirect.
    if (!client) return page(res, 400, 'Unknown client', '<p>invalid_request: unknown client_id</p>');
    if (!/^https?:\/\//.test(redirectUri) || (client.redirectUris && !client.redirectUris.includes(redirectUri))) {
      return page(res, 400, 'Callback URL mismatch', `<p>${escapeHtml(redirectUri)} is not in the list of Allowed Callback URLs</p>`);
    }
    const fail = (error: string, description: string) => {
      const url = new URL(redirectUri);
      url.searchParams.set('error', error);
      url.searchParams.set('error_description', description);
      if (q.get('state')) url.searchParams.set('state', q.get('state')!);
      url.searchParams.set('iss', this.ctx.base());
      redirect(res, url.href);
    };
    if (q.get('response_type') !== 'code') return fail('unsupported_response_type', 'response_type must be code');
    const challenge = q.get('code_challenge') ?? undefined;
    if (challenge !== undefined && q.get('code_challenge_method') !== 'S256') return fail('invalid_request', 'code_challenge_method must be S256');
    const scope = (q.get('scope') ?? '').split(' ').filter(Boolean);
    const id = random();
    this.pending.set(id, {
      clientId: client.clientId,
      redirectUri,
      scope,
      ...(q.get('audience') ? { audience: q.get('audience')! } : {}),
      ...(q.get('state') ? { state: q.get('state')! } : {}),
      ...(q.get('nonce') ? { nonce: q.get('nonce')! } : {}),
      ...(challenge ? { codeChallenge: challenge } : {}),
      expiresAt: now() + 600,
    });
    const asks = [...scope, ...(q.get('audience') ? [`access to ${q.get('audience')}`] : [])];
    page(
      res,
      200,
      `Sign in to ${client.clientId}`,
      `<form method="post" action="/authorize">
<input type="hidden" name="interaction" value="${id}">
<p><label>Username <input name="username" autocomplete="username" autofocus></label></p>
<p><label>Password <input name="password" type="password" autocomplete="current-password"></label></p>
<p>${escapeHtml(client.clientId)} asks for: ${asks.map((a) => `<code>${escapeHtml(a)}</code>`).join(', ') || 'nothing'}</p>
<p><button type="submit" name="action" value="allow">Allow</button> <button type="submit" name="action" value="deny">Deny</button></p>
</form>`,
    );
  }

  /** `POST /authorize`: the page's form — signs the user in and sends the browser back with a code. */
  async authorizeSubmit(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = await readForm(req);
    const grant = this.pending.get(form.get('interaction') ?? '');
    if (!grant || grant.expiresAt <= now()) return page(res, 400, 'Login expired', '<p>Start again from the application.</p>');
    const back = new URL(grant.redirectUri);
    if (grant.state) back.searchParams.set('state', grant.state);
    back.searchParams.set('iss', this.ctx.base());
    if (form.get('action') !== 'allow') {
      this.pending.delete(form.get('interaction')!);
      back.searchParams.set('error', 'access_denied');
      back.searchParams.set('error_description', 'User did not authorize the request');
      return redirect(res, back.href);
    }
    const user = this.ctx.users.get(form.get('username') ?? '');
    if (!user || user.password !== (form.get('password') ?? '')) return page(res, 401, 'Wrong username or password', '<p>Go back and try again.</p>');
    this.pending.delete(form.get('interaction')!);
    const code = random();
    this.codes.set(code, { ...grant, user, sid: random(), expiresAt: now() + 60 });
    back.searchParams.set('code', code);
    redirect(res, back.href);
  }

  /**
   * The `authorization_code` grant: the code is single-use, bound to its client and redirect URI,
   * and to its PKCE challenge when one was sent.
   *
   * @returns the token response, or an OAuth error with its status.
   */
  async codeGrant(client: TestClient, form: URLSearchParams): Promise<{ status: number; body: object }> {
    const code = form.get('code') ?? '';
    const grant = this.codes.get(code);
    // Single use: a second exchange of the same code fails (RFC 6749 §4.1.2).
    this.codes.delete(code);
    const invalid = (description: string) => ({ status: 403, body: { error: 'invalid_grant', error_description: description } });
    if (!grant || grant.expiresAt <= now()) return invalid('Invalid authorization code');
    if (grant.clientId !== client.clientId) return invalid('Invalid authorization code');
    if (form.get('redirect_uri') !== grant.redirectUri) return invalid('Invalid redirect_uri');
    if (grant.codeChallenge !== undefined) {
      const verifier = form.get('code_verifier') ?? '';
      if (createHash('sha256').update(verifier).digest('base64url') !== grant.codeChallenge) return invalid('Failed to verify code verifier');
    } else if (form.has('code_verifier')) {
      return invalid('code_verifier sent without a code_challenge');
    }
    return { status: 200, body: await this.tokens(grant, true) };
  }

  /** The `refresh_token` grant (the refresh token is kept unless `refreshTokenRotation`). */
  async refreshGrant(client: TestClient, form: URLSearchParams): Promise<{ status: number; body: object }> {
    const token = form.get('refresh_token') ?? '';
    const grant = this.refreshTokens.get(token);
    if (!grant || grant.clientId !== client.clientId) return { status: 403, body: { error: 'invalid_grant', error_description: 'Unknown or invalid refresh token.' } };
    const body = await this.tokens(grant, this.ctx.refreshTokenRotation);
    if (this.ctx.refreshTokenRotation) this.refreshTokens.delete(token);
    return { status: 200, body };
  }

  /** `POST /oauth/revoke` (RFC 7009): a refresh token stops working; unknown tokens are fine. */
  revoke(client: TestClient, form: URLSearchParams): void {
    const token = form.get('token') ?? '';
    if (this.refreshTokens.get(token)?.clientId === client.clientId) this.refreshTokens.delete(token);
  }

  /** `GET /oidc/logout` (RP-initiated logout) and `GET /v2/logout` (Auth0's): back to an allowed URL, or a page. */
  async logout(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const q = url.searchParams;
    const auth0 = url.pathname === '/v2/logout';
    let clientId = q.get('client_id') ?? undefined;
    const hint = q.get('id_token_hint');
    if (hint) {
      const claims = await this.ctx.ring.verify(hint, this.ctx.base());
      if (!claims) return page(res, 400, 'Invalid id_token_hint', '<p>The ID token was not issued here.</p>');
      clientId ??= typeof claims.aud === 'string' ? claims.aud : undefined;
    }
    const target = q.get(auth0 ? 'returnTo' : 'post_logout_redirect_uri');
    if (!target) return page(res, 200, 'You are signed out', '');
    const client = clientId === undefined ? undefined : this.ctx.clients.get(clientId);
    if (!client || (client.logoutUrls && !client.logoutUrls.includes(target))) {
      return page(res, 400, 'Logout URL mismatch', `<p>${escapeHtml(target)} is not in the list of Allowed Logout URLs</p>`);
    }
    const back = new URL(target);
    if (!auth0 && q.get('state')) back.searchParams.set('state', q.get('state')!);
    redirect(res, back.href);
  }

  /**
   * Fills in the login page as a person would, over HTTP: `GET` the authorization URL, then
   * `POST` the form. Resolves with the URL the issuer redirects the browser to (the callback).
   */
  async authorize(authorizationUrl: string, options: TestAuthorizeOptions = {}): Promise<string> {
    const user = options.username !== undefined ? this.ctx.users.get(options.username) : this.ctx.users.values().next().value;
    const username = options.username ?? user?.username;
    if (username === undefined) throw new TypeError('createTestIssuer: authorize needs a user (register one with users or addUser)');
    const shown = await fetch(authorizationUrl, { redirect: 'manual' });
    const html = await shown.text();
    if (shown.status === 302) return shown.headers.get('location')!;
    const interaction = /name="interaction" value="([^"]+)"/.exec(html)?.[1];
    if (shown.status !== 200 || !interaction) throw new Error(`createTestIssuer: the login page answered ${shown.status}`);
    const body = new URLSearchParams({ interaction, username, password: options.password ?? user?.password ?? '', action: options.consent === false ? 'deny' : 'allow' });
    const submitted = await fetch(new URL('/authorize', authorizationUrl), { method: 'POST', body, redirect: 'manual' });
    await submitted.text();
    const location = submitted.headers.get('location');
    if (submitted.status !== 302 || !location) throw new Error(`createTestIssuer: the login form answered ${submitted.status}`);
    return location;
  }

  /** The token response of a grant: ID token, access token, and a refresh token with `offline_access`. */
  private async tokens(grant: Grant, issueRefresh: boolean): Promise<object> {
    const base = this.ctx.base();
    const user = grant.user!;
    const lifetime = this.ctx.tokenLifetime;
    const iat = now();
    const sub = typeof user.claims?.sub === 'string' ? user.claims.sub : `auth0|${user.username}`;
    const scope = grant.scope.join(' ');
    let accessToken: string;
    // A jti makes every token unique, even two minted in the same second (a refresh right after a login).
    const accessClaims: JWTPayload = { iss: base, sub, azp: grant.clientId, iat, exp: iat + lifetime, scope, jti: random() };
    if (grant.audience) {
      accessToken = await this.ctx.ring.sign({ ...accessClaims, aud: grant.scope.includes('openid') ? [grant.audience, `${base}userinfo`] : grant.audience });
    } else {
      accessToken = random();
      this.ctx.registerOpaque(accessToken, { ...accessClaims, aud: `${base}userinfo`, client_id: grant.clientId });
    }
    const body: Record<string, unknown> = { access_token: accessToken, token_type: 'Bearer', expires_in: lifetime, scope };
    if (grant.scope.includes('openid')) {
      body.id_token = await this.ctx.ring.sign({
        name: user.username,
        ...user.claims,
        iss: base,
        sub,
        aud: grant.clientId,
        iat,
        exp: iat + 36_000,
        ...(grant.nonce ? { nonce: grant.nonce } : {}),
        ...(grant.sid ? { sid: grant.sid } : {}),
      });
    }
    if (issueRefresh && grant.scope.includes('offline_access')) {
      const refresh = random();
      this.refreshTokens.set(refresh, grant);
      body.refresh_token = refresh;
    }
    return body;
  }
}

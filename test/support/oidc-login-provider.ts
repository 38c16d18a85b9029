/**
 * The real `oidc-provider` set up for end-user login: a web client (authorization code + refresh
 * token, `client_secret_post`), PKCE required, its development login and consent pages, RP-initiated
 * logout, short-lived access tokens, and counters of the grants it served. Also a small "browser"
 * that walks its HTML forms (it keeps the provider's cookies between pages).
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import * as jose from 'jose';

interface ProviderLike {
  callback(): (req: http.IncomingMessage, res: http.ServerResponse) => void;
  on(event: string, listener: (ctx: { oidc?: { params?: Record<string, unknown> } }) => void): void;
}

function quietly<T>(fn: () => T): T {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!String(args[0]).startsWith('oidc-provider WARNING')) warn(...args);
  };
  try {
    return fn();
  } finally {
    console.warn = warn;
  }
}

// require() rather than import: oidc-provider has no type declarations; jest transforms it (ESM-only).
const Provider = quietly(() => require('oidc-provider') as { default: new (issuer: string, config: object) => ProviderLike }).default;

export interface LoginProviderFixture {
  /** `http://127.0.0.1:<port>` */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Grants served, counted by the provider itself. */
  grants: { authorizationCode: number; refreshToken: number; refused: number };
  /** Seconds an access token lives. */
  accessTokenTtl: number;
  /**
   * Follows the provider's pages from an authorization URL as a browser would: the login form
   * (any login, any password), then consent. Resolves with the URL it redirects to at `stopAt`.
   */
  signIn(authorizationUrl: string, login: string, stopAt: string): Promise<string>;
  /** Follows an end-session URL through the provider's confirmation page; resolves with where it sends the browser. */
  endSession(url: string, stopAt: string): Promise<string>;
  stop(): Promise<void>;
}

/** Starts oidc-provider on 127.0.0.1 with a web client whose callback and logout URLs are given. */
export async function startLoginProvider(redirectUri: (issuer: string) => { callback: string; logout: string }): Promise<LoginProviderFixture> {
  const server = http.createServer();
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
  const key = { ...(await jose.exportJWK(privateKey)), kid: 'login-key', alg: 'RS256', use: 'sig' };
  const urls = redirectUri(issuer);
  const clientId = 'tollgate-web';
  const clientSecret = 'web-secret-0123456789abcdef';
  const accessTokenTtl = 30;
  const grants = { authorizationCode: 0, refreshToken: 0, refused: 0 };
  const provider = quietly(
    () =>
      new Provider(issuer, {
        clients: [
          {
            client_id: clientId,
            client_secret: clientSecret,
            grant_types: ['authorization_code', 'refresh_token'],
            response_types: ['code'],
            redirect_uris: [urls.callback],
            post_logout_redirect_uris: [urls.logout],
            token_endpoint_auth_method: 'client_secret_post',
          },
        ],
        jwks: { keys: [key] },
        cookies: { keys: ['tollgate-login-cookie-key'] },
        pkce: { required: () => true },
        ttl: { AccessToken: accessTokenTtl, IdToken: 3600, RefreshToken: 86_400, Session: 3600, Grant: 3600, Interaction: 600, AuthorizationCode: 60 },
        // The refresh token is replaced on every use: a second refresh with the old one is refused.
        rotateRefreshToken: true,
        findAccount: (_ctx: unknown, sub: string) => ({ accountId: sub, claims: () => ({ sub }) }),
        features: {
          devInteractions: { enabled: true },
          revocation: { enabled: true },
          rpInitiatedLogout: {
            enabled: true,
            logoutSource: (ctx: { body: string }, form: string) => {
              ctx.body = `<!doctype html><html><body>${form}<button type="submit" form="op.logoutForm" value="yes" name="logout">Sign out</button></body></html>`;
            },
          },
        },
      }),
  );
  provider.on('grant.success', (ctx) => {
    const type = ctx.oidc?.params?.grant_type;
    if (type === 'authorization_code') grants.authorizationCode++;
    if (type === 'refresh_token') grants.refreshToken++;
  });
  provider.on('grant.error', () => void grants.refused++);
  server.on('request', provider.callback());

  /** A cookie jar for the provider's own cookies (paths ignored: extra cookies are harmless here). */
  const cookies = new Map<string, string>();
  const send = async (url: string, init: RequestInit = {}): Promise<Response> => {
    const res = await fetch(url, { ...init, redirect: 'manual', headers: { ...(init.headers as Record<string, string>), cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') } });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      if (/expires=Thu, 01 Jan 1970/i.test(line)) cookies.delete(name);
      else cookies.set(name, pair!.slice(eq + 1));
    }
    return res;
  };
  /** Follows redirects and submits each page's first form until the browser is sent to `stopAt`. */
  const walk = async (start: string, stopAt: string, fill: Record<string, string>): Promise<string> => {
    let url = start;
    for (let step = 0; step < 12; step++) {
      if (url.startsWith(stopAt)) return url;
      const res = await send(url);
      if (res.status >= 300 && res.status < 400) {
        url = new URL(res.headers.get('location')!, url).href;
        continue;
      }
      const html = await res.text();
      const form = /<form[^>]*action="([^"]+)"[^>]*method="post"|<form[^>]*method="post"[^>]*action="([^"]+)"/.exec(html);
      if (res.status !== 200 || !form) throw new Error(`oidc-provider answered ${res.status} at ${url}: ${html.slice(0, 300)}`);
      const body = new URLSearchParams();
      for (const m of html.matchAll(/<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)) body.set(m[1]!, m[2]!);
      for (const [k, v] of Object.entries(fill)) if (html.includes(`name="${k}"`)) body.set(k, v);
      const posted = await send(new URL(form[1] ?? form[2]!, url).href, { method: 'POST', body });
      await posted.text();
      if (posted.status < 300 || posted.status >= 400) throw new Error(`oidc-provider answered ${posted.status} after a form at ${url}`);
      url = new URL(posted.headers.get('location')!, url).href;
    }
    throw new Error('oidc-provider: too many pages');
  };

  return {
    issuer,
    clientId,
    clientSecret,
    grants,
    accessTokenTtl,
    signIn: (authorizationUrl, login, stopAt) => {
      // A new browser each time: no session at the provider from an earlier sign-in.
      cookies.clear();
      return walk(authorizationUrl, stopAt, { login, password: 'any password' });
    },
    endSession: (url, stopAt) => walk(url, stopAt, { logout: 'yes' }),
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The demo's browser half: `/app`, a page behind end-user login (`authorization_code` + `session`).
 * A browser that opens it is sent to the issuer's login page, comes back signed in, and sees who it
 * is; "Sign out" ends the session at the gateway and at the issuer.
 */
import express from 'express';
import { oidc, type OidcPlugin } from 'tollgate';
import { gateway, getContext } from 'tollgate/express';

/** What the demo's login app needs. */
export interface LoginAppOptions {
  issuer: string;
  /** The web application at the issuer (Auth0: a Regular Web Application). */
  clientId: string;
  clientSecret: string;
  /** Where the app is reached, without a trailing slash: `http://127.0.0.1:8000`. */
  baseUrl: string;
  /** The API the user's access token is for (Auth0's `audience`). */
  audience: string;
  sessionSecret: string;
  allowInsecureIssuer?: boolean;
}

const escape = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const page = (title: string, body: string): string =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${escape(title)}</title></head><body><h1>${escape(title)}</h1>${body}</body></html>`;

/** Mounts `/app` (login required) and `/` (a landing page) on `app`; returns the plugin to close. */
export function mountLoginApp(app: express.Express, options: LoginAppOptions): OidcPlugin {
  const login = oidc({
    issuer: options.issuer,
    allowInsecureIssuer: options.allowInsecureIssuer ?? false,
    authMethods: ['authorization_code', 'session'],
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    redirectUri: `${options.baseUrl}/app/callback`,
    scopes: ['openid', 'profile', 'email', 'offline_access'],
    authorizationQueryArgs: { audience: options.audience },
    sessionSecret: options.sessionSecret,
    logoutUri: '/app/logout',
    logoutRedirectUri: `${options.baseUrl}/`,
  });
  app.use('/app', gateway(login));
  app.get('/app', (req, res) => {
    const ctx = getContext(req);
    const claims = ctx.credential?.claims ?? {};
    res.type('html').send(
      page(
        `Signed in as ${ctx.consumer?.id ?? '?'}`,
        `<p id="user">${escape(String(claims.name ?? ctx.consumer?.id ?? ''))}</p>
<p>The gateway forwarded this request with <code>Authorization: Bearer …</code> (the user's access token for ${escape(options.audience)}); the session cookie stayed at the gateway.</p>
<form method="post" action="/app/logout"><button type="submit" id="logout">Sign out</button></form>`,
      ),
    );
  });
  app.get('/', (_req, res) => {
    res.type('html').send(page('tollgate demo', '<p><a id="app" href="/app">Open the app</a> (sign-in required)</p>'));
  });
  return login;
}

/**
 * A backend for a browser front end, Kong's `authorization_code` + `session` with Auth0:
 * - `/app/*` pages need a signed-in user: a browser is sent to Auth0's login page and comes back
 *   with a session cookie;
 * - `/api/*` is proxied to the backend with the user's access token (`Authorization: Bearer …`),
 *   from the same session — or from a bearer token a machine client sends — limited per user;
 * - `POST /app/logout` ends the session here and at Auth0.
 *
 * express-openid-connect does the first and last for Express only; Kong needs its Enterprise
 * plugin; here both routes are two `oidc()` sharing one session secret.
 */
import express from 'express';
import { oidc, rateLimit, upstreamProxy, type OidcOptions } from 'tollgate';
import { gateway, getContext } from 'tollgate/express';

export interface BrowserLoginOptions {
  /** `https://TENANT.us.auth0.com/` (or a local test issuer). */
  issuer: string;
  /** The Regular Web Application's client id and secret. */
  clientId: string;
  clientSecret: string;
  /** Where the app is reached, no trailing slash (its `/app/callback` is an Allowed Callback URL). */
  baseUrl: string;
  /** The Auth0 API the backend is: the user's access token is for it. */
  audience: string;
  /** At least 32 characters each; the first encrypts. */
  sessionSecrets: string[];
  /** The backend behind `/api`. */
  backendUrl: string;
  /** Only for a local plain-http issuer. */
  allowInsecureIssuer?: boolean;
}

export function browserLoginApp(o: BrowserLoginOptions): express.Express {
  const shared: OidcOptions = {
    issuer: o.issuer,
    allowInsecureIssuer: o.allowInsecureIssuer ?? false,
    clientId: o.clientId,
    clientSecret: o.clientSecret,
    sessionSecret: o.sessionSecrets,
  };
  const app = express();
  app.use(
    '/app',
    gateway(
      oidc({
        ...shared,
        authMethods: ['authorization_code', 'session'],
        redirectUri: `${o.baseUrl}/app/callback`,
        scopes: ['openid', 'profile', 'email', 'offline_access'],
        authorizationQueryArgs: { audience: o.audience },
        logoutUri: '/app/logout',
        logoutRedirectUri: `${o.baseUrl}/`,
      }),
    ),
  );
  app.get('/app', (req, res) => {
    res.type('html').send(`<h1>Hello ${getContext(req).credential?.claims?.email ?? 'there'}</h1>`);
  });
  app.use(
    '/api',
    gateway(
      // The session of /app, or a machine client's token for the same API: a bearer token wins.
      oidc({ ...shared, authMethods: ['bearer', 'session'], audience: o.audience }),
      rateLimit({ minute: 60, limitBy: 'consumer' }),
      upstreamProxy({ url: o.backendUrl }),
    ),
  );
  app.get('/', (_req, res) => void res.type('html').send('<a href="/app">Sign in</a>'));
  return app;
}

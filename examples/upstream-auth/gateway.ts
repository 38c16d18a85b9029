/**
 * The gateway authenticating itself to a protected backend (KrakenD's `auth/client-credentials`,
 * the third level of its Auth0 integration): the gateway is an Auth0 machine-to-machine
 * application, fetches its own access token for the backend's API and sends it as
 * `Authorization: Bearer …` on every proxied request, replacing whatever the caller sent.
 *
 * The token is cached until 30 s before it expires and fetched once for all concurrent requests
 * (Auth0 meters machine-to-machine tokens). When the backend answers 401, the gateway drops the
 * token and retries the request once with a fresh one.
 */
import express from 'express';
import { upstreamProxy } from 'tollgate';
import { gateway } from 'tollgate/express';

export interface UpstreamAuthOptions {
  /** `https://TENANT.us.auth0.com/`; the token endpoint is discovered from it. */
  issuer: string;
  /** The gateway's machine-to-machine application. */
  clientId: string;
  clientSecret: string;
  /** The backend's Auth0 API identifier, which its tokens must be for. */
  backendAudience: string;
  /** The protected backend. */
  backendUrl: string;
}

export function upstreamAuthApp(options: UpstreamAuthOptions): express.Express {
  const app = express();
  app.use(
    '/billing',
    gateway(
      // Only the gateway-to-backend leg is shown: in a real service, authenticate callers first
      // (oidc, rateLimit…) in this same gateway(...), since the backend now trusts the gateway.
      upstreamProxy({
        url: options.backendUrl,
        auth: {
          clientCredentials: {
            issuer: options.issuer,
            clientId: options.clientId,
            clientSecret: options.clientSecret,
            // Auth0 mints a token for an API only when the request names it.
            tokenPostArgs: { audience: options.backendAudience },
          },
        },
      }),
    ),
  );
  return app;
}

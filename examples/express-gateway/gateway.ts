/**
 * The Kong + Auth0 walkthrough's gateway in one short file: `/httpbin` proxied upstream, protected
 * by OIDC client credentials (the client's Basic id and secret exchanged at the token endpoint with
 * an `audience`), limited to 5 requests a minute, cached for 30 seconds.
 */
import express from 'express';
import { oidc, proxyCache, rateLimit, upstreamProxy } from 'tollgate';
import { gateway } from 'tollgate/express';

export interface WalkthroughOptions {
  /** `https://TENANT.us.auth0.com/` (or a local test issuer). */
  issuer: string;
  /** The Auth0 API identifier, sent as the `audience` post argument. */
  audience: string;
  /** Where `/httpbin` goes. */
  upstreamUrl: string;
  /** Only for a local plain-http issuer. */
  allowInsecureIssuer?: boolean;
}

export function walkthroughApp({ issuer, audience, upstreamUrl, allowInsecureIssuer = false }: WalkthroughOptions): express.Express {
  const app = express();
  app.use(
    '/httpbin',
    gateway(
      oidc({ issuer, authMethods: ['client_credentials', 'bearer'], tokenPostArgs: { audience }, audience, allowInsecureIssuer }),
      rateLimit({ minute: 5, policy: 'local' }),
      proxyCache({ strategy: 'memory', cacheTtl: 30 }),
      upstreamProxy({ url: upstreamUrl }),
    ),
  );
  return app;
}

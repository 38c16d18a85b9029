/**
 * The Kong + Auth0 walkthrough's gateway in Koa: `/httpbin` proxied upstream, protected by OIDC
 * client credentials (the client's Basic id and secret exchanged at the token endpoint with an
 * `audience`), limited to 5 requests a minute, cached for 30 seconds.
 *
 * The same four plugins as examples/express-gateway: only the adapter import changes.
 */
import Koa from 'koa';
import mount from 'koa-mount';
import { oidc, proxyCache, rateLimit, upstreamProxy } from 'tollgate';
import { gateway } from 'tollgate/koa';

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

export function walkthroughApp({ issuer, audience, upstreamUrl, allowInsecureIssuer = false }: WalkthroughOptions): Koa {
  const app = new Koa();
  // koa-mount strips `/httpbin`, so the upstream receives `/get` for `/httpbin/get`.
  app.use(
    mount(
      '/httpbin',
      gateway(
        // Listed in reading order; they run by priority anyway (oidc → rateLimit → proxyCache → proxy).
        oidc({ issuer, authMethods: ['client_credentials', 'bearer'], tokenPostArgs: { audience }, audience, allowInsecureIssuer }),
        rateLimit({ minute: 5, policy: 'local' }),
        proxyCache({ strategy: 'memory', cacheTtl: 30 }),
        upstreamProxy({ url: upstreamUrl }),
      ),
    ),
  );
  return app;
}

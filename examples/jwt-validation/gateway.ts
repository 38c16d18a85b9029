/**
 * KrakenD's Auth0 integration in one Express app: callers present an Auth0 access token, the
 * gateway validates it (signature against the tenant's JWKS, issuer, audience), authorizes it by
 * scope or role, and passes who the caller is to the backend as headers (KrakenD's
 * `propagate_claims`), so the backend never parses a token.
 *
 * KrakenD `auth/validator`      →  tollgate `oidc`
 *   jwk_url, issuer             →  issuer (keys found by discovery)
 *   audience                    →  audience
 *   scopes_key, scopes          →  scopesClaim (default 'scope'), scopesRequired
 *   roles_key, roles            →  rolesClaim, rolesRequired
 *   propagate_claims            →  upstreamHeadersClaims + upstreamHeadersNames
 */
import express from 'express';
import { oidc, upstreamProxy, type OidcOptions } from 'tollgate';
import { gateway } from 'tollgate/express';

/** Auth0 puts custom claims under a namespace; an Auth0 Action adds the user's roles here. */
export const ROLES_CLAIM = 'https://example.com/roles';

export interface JwtValidationOptions {
  /** `https://TENANT.us.auth0.com/` (or a local test issuer). */
  issuer: string;
  /** The Auth0 API identifier: tokens for any other API are refused with 401. */
  audience: string;
  /** The backend behind the gateway. */
  backendUrl: string;
  /** Only for a local plain-http issuer. */
  allowInsecureIssuer?: boolean;
}

export function jwtValidationApp({ issuer, audience, backendUrl, allowInsecureIssuer = false }: JwtValidationOptions): express.Express {
  const validation: OidcOptions = {
    issuer,
    audience,
    allowInsecureIssuer,
    // These headers always replace what the client sent, and a missing claim removes the
    // header: a caller cannot claim to be someone else by sending `X-User` itself.
    upstreamHeadersClaims: ['sub', 'azp', ROLES_CLAIM],
    upstreamHeadersNames: ['X-User', 'X-Client-Id', 'X-Roles'],
  };
  // stripPath: false keeps the path as the client sent it: /orders/42 → <backend>/orders/42.
  const backend = upstreamProxy({ url: backendUrl, stripPath: false });

  const app = express();
  // Reading orders needs the `read:orders` scope (for Auth0 RBAC's `permissions` claim instead,
  // add scopesClaim: 'permissions'). A valid token without it gets 403 insufficient_scope.
  app.use('/orders', gateway(oidc({ ...validation, scopesRequired: ['read:orders'] }), backend));
  // The admin area needs the `admin` role (any one entry of rolesRequired; 'a b' would need both).
  app.use('/admin', gateway(oidc({ ...validation, rolesClaim: ROLES_CLAIM, rolesRequired: ['admin'] }), backend));
  return app;
}

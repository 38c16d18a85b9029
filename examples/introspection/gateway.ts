/**
 * Kong Identity's flow with opaque tokens: a machine client gets an access token from the
 * authorization server (client credentials), calls `/api` with it, and the gateway asks the
 * server whether the token is active (RFC 7662 introspection, Kong's oauth2-introspection
 * plugin). Active tokens go upstream with what the server said about them as `X-Credential-*`
 * headers; the answer is cached, so the server is asked once per token per `ttl`.
 *
 * Kong oauth2-introspection     →  tollgate `oidc`
 *   introspection_url           →  issuer (the endpoint is discovered) or introspectionEndpoint
 *   authorization_value         →  introspection.authorizationValue (or clientId + clientSecret)
 *   ttl                         →  introspection.ttl
 *   custom_claims_forward       →  introspection.customClaimsForward
 */
import express from 'express';
import { oidc, upstreamProxy } from 'tollgate';
import { gateway } from 'tollgate/express';

export interface IntrospectionGatewayOptions {
  /** The authorization server's issuer; its discovery document names the introspection endpoint. */
  issuer: string;
  /** The API identifier the tokens must be issued for (their `aud`). */
  audience: string;
  /** The gateway's own client at the authorization server, allowed to introspect tokens. */
  gatewayClientId: string;
  gatewayClientSecret: string;
  /** Where `/api` goes. */
  upstreamUrl: string;
  /** Only for a local plain-http authorization server. */
  allowInsecureIssuer?: boolean;
}

export function introspectionApp(options: IntrospectionGatewayOptions): express.Express {
  const app = express();
  app.use(
    '/api',
    gateway(
      oidc({
        issuer: options.issuer,
        allowInsecureIssuer: options.allowInsecureIssuer ?? false,
        authMethods: ['introspection'],
        // An active token for another API of the same server is refused (401).
        audience: options.audience,
        introspection: {
          // Sent as HTTP Basic; a server that wants another header takes authorizationValue instead.
          clientId: options.gatewayClientId,
          clientSecret: options.gatewayClientSecret,
          // One introspection call per token per minute (never past the token's exp); inactive
          // answers are cached too, so a replayed bad token does not hammer the server.
          ttl: 60,
          // Beyond Kong's standard X-Credential-Scope, -Client-ID, -Sub, …: the caller's tenant.
          customClaimsForward: ['tenant'],
        },
      }),
      upstreamProxy({ url: options.upstreamUrl }),
    ),
  );
  return app;
}

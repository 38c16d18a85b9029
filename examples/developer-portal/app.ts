/**
 * A minimal developer portal: `POST /apps` registers a machine-to-machine application and answers
 * its client id and secret once; `/api/*` is a gateway route those credentials then pass (the
 * application sends them as HTTP Basic, the gateway exchanges them for a token at the identity
 * provider), rate limited per application because `azp` — the application's client id in Auth0's
 * tokens — names the consumer.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { oidc, rateLimit } from 'tollgate';
import { gateway, getContext } from 'tollgate/express';
import { RegistrationError, type RegisterOptions, type RegisteredApplication } from 'tollgate/dcr';

export interface PortalOptions {
  /** Creates applications: `auth0Registrar(...)` (or `openidRegistrar(...)`). */
  registrar: { register(options: RegisterOptions): Promise<RegisteredApplication> };
  /** The identity provider's issuer (Auth0's ends with `/`). */
  issuer: string;
  /** The API identifier registered applications are granted, sent as `audience` when exchanging their credentials. */
  audience: string;
  /** Which developer is asking; undefined answers 401. Stands in for the portal's own login. */
  developerOf(req: Request): string | undefined;
  /** Requests per minute each application may make to `/api`. @defaultValue 60 */
  perMinute?: number;
  /** Accept a plain-http issuer (tests against a local Auth0-shaped server only). @defaultValue false */
  allowInsecureIssuer?: boolean;
}

export function createPortal(options: PortalOptions): express.Express {
  const app = express();

  app.post('/apps', express.json(), async (req, res) => {
    const developer = options.developerOf(req);
    if (!developer) {
      res.status(401).json({ message: 'Unauthorized' });
      return;
    }
    const { name, description } = (req.body ?? {}) as { name?: unknown; description?: unknown };
    try {
      const created = await options.registrar.register({
        name: name as string,
        ...(description !== undefined ? { description: description as string } : {}),
        metadata: { developer_id: developer },
      });
      // The secret is answered once and kept nowhere: not in the portal, not in a cache, not in a log.
      res.status(201).set('Cache-Control', 'no-store').json({
        client_id: created.clientId,
        client_secret: created.clientSecret,
        token_endpoint_auth_method: 'client_secret_post',
        note: 'Store the secret now: it is shown only once. Call /api with HTTP Basic client_id:client_secret.',
      });
    } catch (err) {
      if (err instanceof RegistrationError && err.code === 'ERR_DCR_INVALID_REQUEST') {
        res.status(400).json({ message: err.message });
        return;
      }
      // The operator gets what failed (no secret is ever in it); the developer gets a generic answer.
      console.error(`[portal] application registration failed: ${err instanceof Error ? err.message : String(err)}`);
      if (err instanceof RegistrationError && err.code === 'ERR_DCR_RATE_LIMITED') {
        res.status(503).set('Retry-After', String(err.retryAfter ?? 60)).json({ message: 'Application registration is busy, try again later' });
        return;
      }
      res.status(502).json({ message: 'Application registration failed' });
    }
  });

  app.use(
    '/api',
    gateway(
      oidc({
        issuer: options.issuer,
        authMethods: ['client_credentials'],
        tokenPostArgs: { audience: options.audience },
        consumerClaim: 'azp',
        allowInsecureIssuer: options.allowInsecureIssuer ?? false,
      }),
      rateLimit({ minute: options.perMinute ?? 60, limitBy: 'consumer' }),
    ),
  );
  app.get('/api/whoami', (req, res) => {
    const ctx = getContext(req);
    res.json({ application: ctx.consumer?.id, scopes: ctx.credential?.scopes ?? [] });
  });

  // express.json() refuses malformed JSON: answer it as JSON too, not as Express's HTML page.
  app.use((err: { status?: number; type?: string }, _req: Request, res: Response, next: NextFunction) => {
    if (err?.type === 'entity.parse.failed') {
      res.status(400).json({ message: 'The request body is not valid JSON' });
      return;
    }
    next(err);
  });

  return app;
}

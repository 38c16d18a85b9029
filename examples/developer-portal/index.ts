/**
 * Runs the developer portal against a real Auth0 tenant:
 *
 *   AUTH0_DOMAIN=acme.us.auth0.com AUTH0_ADMIN_CLIENT_ID=… AUTH0_ADMIN_CLIENT_SECRET=… \
 *   API_AUDIENCE=https://api.acme.example API_SCOPES="read:orders" PORTAL_TOKEN=change-me \
 *   npx tsx examples/developer-portal/index.ts
 *
 *   curl -X POST localhost:3000/apps -H 'x-portal-token: change-me' -H 'x-developer-id: dev_42' \
 *        -H 'content-type: application/json' -d '{"name":"Billing sync"}'
 *   curl -u "$CLIENT_ID:$CLIENT_SECRET" localhost:3000/api/whoami
 *
 * The admin application needs create:clients, create:client_grants, delete:clients and
 * update:client_keys on the Auth0 Management API (docs/dcr.md).
 */
import { auth0Registrar } from 'tollgate/dcr';
import { createPortal } from './app';

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`developer-portal: set ${name}`);
  return value;
}

const domain = env('AUTH0_DOMAIN');
const audience = env('API_AUDIENCE');
const portalToken = env('PORTAL_TOKEN');

const portal = createPortal({
  registrar: auth0Registrar({
    domain,
    clientId: env('AUTH0_ADMIN_CLIENT_ID'),
    clientSecret: env('AUTH0_ADMIN_CLIENT_SECRET'),
    audience,
    scopes: (process.env.API_SCOPES ?? '').split(/\s+/).filter(Boolean),
  }),
  issuer: `https://${domain.replace(/^https:\/\//, '').replace(/\/+$/, '')}/`,
  audience,
  // A stand-in for the portal's own developer login: replace it with your session check.
  developerOf: (req) => (req.get('x-portal-token') === portalToken ? (req.get('x-developer-id') ?? 'anonymous') : undefined),
});

const port = Number(process.env.PORT ?? 3000);
portal.listen(port, () => console.log(`developer portal on http://localhost:${port}`));

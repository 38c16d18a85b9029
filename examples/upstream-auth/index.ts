/**
 * Runs the gateway in front of a backend that requires Auth0 tokens:
 *   AUTH0_DOMAIN=tenant.us.auth0.com GATEWAY_CLIENT_ID=… GATEWAY_CLIENT_SECRET=… \
 *   BACKEND_AUDIENCE=https://billing.example.com BACKEND_URL=https://billing.internal \
 *   npx tsx examples/upstream-auth/index.ts
 *   curl -i localhost:8000/billing/invoices
 */
import { upstreamAuthApp } from './gateway';

const { AUTH0_DOMAIN, GATEWAY_CLIENT_ID, GATEWAY_CLIENT_SECRET, BACKEND_AUDIENCE, BACKEND_URL } = process.env;
if (!AUTH0_DOMAIN || !GATEWAY_CLIENT_ID || !GATEWAY_CLIENT_SECRET || !BACKEND_AUDIENCE || !BACKEND_URL) {
  console.error('Set AUTH0_DOMAIN, GATEWAY_CLIENT_ID, GATEWAY_CLIENT_SECRET, BACKEND_AUDIENCE and BACKEND_URL.');
  process.exit(1);
}
const port = Number(process.env.PORT ?? 8000);
upstreamAuthApp({
  issuer: `https://${AUTH0_DOMAIN.replace(/^https:\/\//, '').replace(/\/$/, '')}/`,
  clientId: GATEWAY_CLIENT_ID,
  clientSecret: GATEWAY_CLIENT_SECRET,
  backendAudience: BACKEND_AUDIENCE,
  backendUrl: BACKEND_URL,
}).listen(port, () => console.log(`gateway on http://localhost:${port}/billing → ${BACKEND_URL}`));

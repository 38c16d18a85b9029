/**
 * Runs the JWT-validating gateway against a real Auth0 tenant:
 *   AUTH0_DOMAIN=tenant.us.auth0.com AUTH0_AUDIENCE=https://orders.example.com \
 *   BACKEND_URL=http://127.0.0.1:9000 npx tsx examples/jwt-validation/index.ts
 *   curl -i -H "Authorization: Bearer $ACCESS_TOKEN" localhost:8000/orders/42
 */
import { jwtValidationApp } from './gateway';

const domain = process.env.AUTH0_DOMAIN;
const audience = process.env.AUTH0_AUDIENCE;
const backendUrl = process.env.BACKEND_URL;
if (!domain || !audience || !backendUrl) {
  console.error('Set AUTH0_DOMAIN, AUTH0_AUDIENCE and BACKEND_URL.');
  process.exit(1);
}
const port = Number(process.env.PORT ?? 8000);
// Auth0's issuer is the tenant URL with a trailing slash, exactly as in its tokens' `iss`.
const issuer = `https://${domain.replace(/^https:\/\//, '').replace(/\/$/, '')}/`;
jwtValidationApp({ issuer, audience, backendUrl }).listen(port, () => {
  console.log(`gateway on http://localhost:${port} (/orders, /admin) → ${backendUrl}`);
});

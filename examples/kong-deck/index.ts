/**
 * Runs the walkthrough's decK file against a real Auth0 tenant:
 *   DECK_ISSUER=https://TENANT.us.auth0.com/ DECK_AUDIENCE=https://clientcredentials.com \
 *   DECK_HTTPBIN_URL=http://httpbin.org npx tsx examples/kong-deck/index.ts
 *   curl -i -u "$CLIENT_ID:$CLIENT_SECRET" localhost:8000/httpbin/anything
 * Check what the file maps to first: npx tollgate kong check examples/kong-deck/kong.yaml
 */
import { kongDeckApp } from './gateway';

const { DECK_ISSUER, DECK_AUDIENCE, DECK_HTTPBIN_URL = 'http://httpbin.org' } = process.env;
if (!DECK_ISSUER || !DECK_AUDIENCE) {
  console.error('Set DECK_ISSUER and DECK_AUDIENCE (and DECK_HTTPBIN_URL).');
  process.exit(1);
}
const port = Number(process.env.PORT ?? 8000);
kongDeckApp({ DECK_ISSUER, DECK_AUDIENCE, DECK_HTTPBIN_URL }).app.listen(port, () => {
  console.log(`gateway on http://localhost:${port}/httpbin → ${DECK_HTTPBIN_URL}`);
});

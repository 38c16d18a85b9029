/**
 * Runs the introspecting gateway against an authorization server that issues opaque tokens:
 *   ISSUER=https://auth.example.com/ API_AUDIENCE=https://api.example.com GATEWAY_CLIENT_ID=… GATEWAY_CLIENT_SECRET=… \
 *   UPSTREAM_URL=http://127.0.0.1:9000 npx tsx examples/introspection/index.ts
 *   curl -i -H "Authorization: Bearer $OPAQUE_TOKEN" localhost:8000/api/anything
 */
import { introspectionApp } from './gateway';

const { ISSUER, API_AUDIENCE, GATEWAY_CLIENT_ID, GATEWAY_CLIENT_SECRET, UPSTREAM_URL } = process.env;
if (!ISSUER || !API_AUDIENCE || !GATEWAY_CLIENT_ID || !GATEWAY_CLIENT_SECRET || !UPSTREAM_URL) {
  console.error('Set ISSUER, API_AUDIENCE, GATEWAY_CLIENT_ID, GATEWAY_CLIENT_SECRET and UPSTREAM_URL.');
  process.exit(1);
}
const port = Number(process.env.PORT ?? 8000);
introspectionApp({ issuer: ISSUER, audience: API_AUDIENCE, gatewayClientId: GATEWAY_CLIENT_ID, gatewayClientSecret: GATEWAY_CLIENT_SECRET, upstreamUrl: UPSTREAM_URL }).listen(port, () => {
  console.log(`gateway on http://localhost:${port}/api → ${UPSTREAM_URL}`);
});

/**
 * Runs the Koa walkthrough gateway against a real Auth0 tenant:
 *   AUTH0_DOMAIN=tenant.us.auth0.com AUTH0_AUDIENCE=https://clientcredentials.com \
 *   UPSTREAM_URL=http://httpbin.org npx tsx examples/koa-gateway/index.ts
 *   curl -i -u "$CLIENT_ID:$CLIENT_SECRET" localhost:8000/httpbin/get
 * (`npm start` runs the same story with a local issuer and upstream instead.)
 */
import { walkthroughApp } from './gateway';

const domain = process.env.AUTH0_DOMAIN;
const audience = process.env.AUTH0_AUDIENCE;
if (!domain || !audience) {
  console.error('Set AUTH0_DOMAIN and AUTH0_AUDIENCE (and UPSTREAM_URL), or run `npm start` for the local demo.');
  process.exit(1);
}
const port = Number(process.env.PORT ?? 8000);
const upstreamUrl = process.env.UPSTREAM_URL ?? 'http://httpbin.org';
// Auth0's issuer is the tenant URL with a trailing slash, exactly as in its tokens' `iss`.
const issuer = `https://${domain.replace(/^https:\/\//, '').replace(/\/$/, '')}/`;
walkthroughApp({ issuer, audience, upstreamUrl }).listen(port, () => {
  console.log(`gateway on http://localhost:${port}/httpbin → ${upstreamUrl}`);
});

/**
 * Runs the browser-login gateway against a real Auth0 tenant (a Regular Web Application whose
 * Allowed Callback URLs hold http://localhost:8000/app/callback and Allowed Logout URLs
 * http://localhost:8000/):
 *   AUTH0_DOMAIN=tenant.us.auth0.com AUTH0_CLIENT_ID=… AUTH0_CLIENT_SECRET=… \
 *   AUTH0_AUDIENCE=https://api.example.com SESSION_SECRET=$(openssl rand -base64 32) \
 *   BACKEND_URL=http://127.0.0.1:9000 npx tsx examples/browser-login/index.ts
 * then open http://localhost:8000/app.
 */
import { browserLoginApp } from './gateway';

const env = process.env;
const required = ['AUTH0_DOMAIN', 'AUTH0_CLIENT_ID', 'AUTH0_CLIENT_SECRET', 'AUTH0_AUDIENCE', 'SESSION_SECRET', 'BACKEND_URL'] as const;
const missing = required.filter((name) => !env[name]);
if (missing.length > 0) {
  console.error(`Set ${missing.join(', ')}.`);
  process.exit(1);
}
const port = Number(env.PORT ?? 8000);
browserLoginApp({
  issuer: `https://${env.AUTH0_DOMAIN!.replace(/^https:\/\//, '').replace(/\/$/, '')}/`,
  clientId: env.AUTH0_CLIENT_ID!,
  clientSecret: env.AUTH0_CLIENT_SECRET!,
  baseUrl: `http://localhost:${port}`,
  audience: env.AUTH0_AUDIENCE!,
  sessionSecrets: env.SESSION_SECRET!.split(','),
  backendUrl: env.BACKEND_URL!,
}).listen(port, () => console.log(`open http://localhost:${port}/app`));

/**
 * The demo behind `npm start` and `npm run walkthrough`: an Auth0-shaped issuer from
 * tollgate/testing with one machine client, an httpbin-like echo upstream, and the walkthrough's
 * gateway (examples/express-gateway) in front of it — all on loopback, in one process.
 * With AUTH0_DOMAIN and AUTH0_AUDIENCE set, the same gateway uses that Auth0 tenant instead (and
 * UPSTREAM_URL, when set, instead of the echo upstream).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createEchoUpstream, createTestIssuer } from 'tollgate/testing';
import { walkthroughApp } from '../examples/express-gateway/gateway';

export const DEMO_CLIENT_ID = 'demo-client';
export const DEMO_CLIENT_SECRET = 'demo-secret';
export const DEMO_AUDIENCE = 'https://clientcredentials.com';

export interface Demo {
  /** `http://localhost:<port>` */
  url: string;
  port: number;
  /** `local` (test issuer) or `auth0` (a real tenant from the environment). */
  mode: 'local' | 'auth0';
  issuer: string;
  audience: string;
  upstreamUrl: string;
  close(): Promise<void>;
}

export async function startDemo(port: number, env: NodeJS.ProcessEnv = process.env): Promise<Demo> {
  const closers: (() => Promise<void>)[] = [];
  const auth0 = env.AUTH0_DOMAIN && env.AUTH0_AUDIENCE ? { domain: env.AUTH0_DOMAIN.replace(/^https:\/\//, '').replace(/\/$/, ''), audience: env.AUTH0_AUDIENCE } : undefined;
  let issuer: string;
  let audience: string;
  if (auth0) {
    issuer = `https://${auth0.domain}/`;
    audience = auth0.audience;
  } else {
    const idp = await createTestIssuer({ clients: [{ clientId: DEMO_CLIENT_ID, clientSecret: DEMO_CLIENT_SECRET, audience: DEMO_AUDIENCE }] });
    closers.push(() => idp.close());
    issuer = idp.issuer;
    audience = DEMO_AUDIENCE;
  }
  let upstreamUrl = env.UPSTREAM_URL;
  if (!upstreamUrl) {
    const echo = await createEchoUpstream();
    closers.push(() => echo.close());
    upstreamUrl = echo.url;
  }
  const app = walkthroughApp({ issuer, audience, upstreamUrl, allowInsecureIssuer: !auth0 });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://localhost:${bound}`,
    port: bound,
    mode: auth0 ? 'auth0' : 'local',
    issuer,
    audience,
    upstreamUrl,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      for (const close of closers.reverse()) await close();
    },
  };
}

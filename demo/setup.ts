/**
 * The demo behind `npm start` and `npm run walkthrough`: an Auth0-shaped issuer from
 * tollgate/testing with one machine client, an httpbin-like echo upstream, and the walkthrough's
 * gateway (examples/express-gateway) in front of it — all on loopback, in one process. Beside it,
 * `/app`: a page a browser signs in to (demo/app.ts), with a demo user at the same issuer.
 * With AUTH0_DOMAIN and AUTH0_AUDIENCE set, the same gateway uses that Auth0 tenant instead (and
 * UPSTREAM_URL, when set, instead of the echo upstream); `/app` then needs AUTH0_WEB_CLIENT_ID and
 * AUTH0_WEB_CLIENT_SECRET (a Regular Web Application), and is left out without them.
 * `/metrics` serves tollgate/prometheus's metrics of it all.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Registry } from 'prom-client';
import { gateway } from 'tollgate/express';
import { prometheus } from 'tollgate/prometheus';
import { createEchoUpstream, createTestIssuer } from 'tollgate/testing';
import { walkthroughApp } from '../examples/express-gateway/gateway';
import { mountLoginApp } from './app';

export const DEMO_CLIENT_ID = 'demo-client';
export const DEMO_CLIENT_SECRET = 'demo-secret';
export const DEMO_AUDIENCE = 'https://clientcredentials.com';
export const DEMO_WEB_CLIENT_ID = 'demo-web';
export const DEMO_USER = 'alice';
export const DEMO_PASSWORD = 'wonderland';

export interface Demo {
  /** `http://localhost:<port>` */
  url: string;
  port: number;
  /** `local` (test issuer) or `auth0` (a real tenant from the environment). */
  mode: 'local' | 'auth0';
  issuer: string;
  audience: string;
  upstreamUrl: string;
  /** `http://127.0.0.1:<port>/app`, where a browser signs in (undefined against Auth0 without a web client). */
  appUrl: string | undefined;
  close(): Promise<void>;
}

/** The port `PORT` names, or `fallback` without one. */
export function portFromEnv(env: NodeJS.ProcessEnv, fallback: number): number {
  const value = env.PORT;
  if (value === undefined || value === '') return fallback;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new Error(`PORT must be a port number (0 to 65535), got ${JSON.stringify(value)}`);
  return port;
}

/** Listens on 127.0.0.1:`port`, or fails with a sentence a user can act on. */
function listen(port: number): Promise<Server> {
  const server = createServer();
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(new Error(`port ${port} is in use, set PORT`));
      else if (err.code === 'EACCES') reject(new Error(`port ${port} needs privileges this process does not have, set PORT`));
      else reject(err);
    });
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

export async function startDemo(port: number, env: NodeJS.ProcessEnv = process.env): Promise<Demo> {
  const closers: (() => Promise<void>)[] = [];
  try {
    return await start(port, env, closers);
  } catch (err) {
    // Nothing started for a demo that could not start keeps running.
    for (const close of closers.reverse()) await close().catch(() => {});
    throw err;
  }
}

async function start(port: number, env: NodeJS.ProcessEnv, closers: (() => Promise<void>)[]): Promise<Demo> {
  const auth0 = env.AUTH0_DOMAIN && env.AUTH0_AUDIENCE ? { domain: env.AUTH0_DOMAIN.replace(/^https:\/\//, '').replace(/\/$/, ''), audience: env.AUTH0_AUDIENCE } : undefined;
  // Listening first: the login's callback URL needs the port.
  const server = await listen(port);
  const stopServer = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  closers.push(stopServer);
  const bound = (server.address() as AddressInfo).port;
  // The browser must stay on one host for its cookies: 127.0.0.1, as in the callback URL.
  const appBase = `http://127.0.0.1:${bound}`;
  let issuer: string;
  let audience: string;
  let web: { clientId: string; clientSecret: string } | undefined;
  if (auth0) {
    issuer = `https://${auth0.domain}/`;
    audience = auth0.audience;
    if (env.AUTH0_WEB_CLIENT_ID && env.AUTH0_WEB_CLIENT_SECRET) web = { clientId: env.AUTH0_WEB_CLIENT_ID, clientSecret: env.AUTH0_WEB_CLIENT_SECRET };
  } else {
    web = { clientId: DEMO_WEB_CLIENT_ID, clientSecret: randomBytes(16).toString('hex') };
    const idp = await createTestIssuer({
      clients: [
        { clientId: DEMO_CLIENT_ID, clientSecret: DEMO_CLIENT_SECRET, audience: DEMO_AUDIENCE },
        { ...web, redirectUris: [`${appBase}/app/callback`], logoutUrls: [`${appBase}/`] },
      ],
      users: [{ username: DEMO_USER, password: DEMO_PASSWORD, claims: { email: `${DEMO_USER}@example.com` } }],
    });
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
  if (web) {
    // A secret per run: sessions do not outlive the demo (a real app reads it from its secrets).
    const login = mountLoginApp(app, { issuer, ...web, baseUrl: appBase, audience, sessionSecret: randomBytes(32).toString('base64url'), allowInsecureIssuer: !auth0 });
    closers.push(() => login.close());
  }
  // Metrics of every request (the walkthrough's and the login's), scraped at /metrics: a gateway
  // of its own in front, sharing each request's context with the ones behind it.
  const registry = new Registry();
  const metrics = prometheus({ registry });
  closers.push(async () => metrics.close());
  const front = express();
  front.use(gateway(metrics));
  front.get('/metrics', async (_req, res) => void res.type(registry.contentType).send(await registry.metrics()));
  front.use(app);
  server.on('request', front);
  return {
    url: `http://localhost:${bound}`,
    port: bound,
    mode: auth0 ? 'auth0' : 'local',
    issuer,
    audience,
    upstreamUrl,
    appUrl: web ? `${appBase}/app` : undefined,
    async close() {
      // Last started, first stopped; the server, started first, last.
      for (const close of closers.reverse()) await close();
    },
  };
}

/**
 * The gateway's own credentials end to end on loopback: an Auth0-shaped test issuer, a backend
 * that accepts only tokens from that issuer for its API (verified with jose against the issuer's
 * JWKS, as a real resource server does), and the gateway of ./gateway.ts in front of it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { createTestIssuer, type TestIssuer } from 'tollgate/testing';
import { upstreamAuthApp } from './gateway';

const BILLING_API = 'https://billing.example.com';

/** A backend protected by Auth0 tokens: 401 unless the bearer token verifies. */
async function protectedBackend(idp: TestIssuer) {
  // No key caching at all, so a key the issuer stopped publishing is refused at once (a real
  // backend caches keys for minutes; the test wants to see the refusal now).
  const keys = createRemoteJWKSet(new URL(idp.jwksUri), { cacheMaxAge: 0, cooldownDuration: 0 });
  const seen: { status: number; token: string }[] = [];
  const server: Server = createServer((req, res) => {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    jwtVerify(token, keys, { issuer: idp.issuer, audience: BILLING_API }).then(
      ({ payload }) => {
        seen.push({ status: 200, token });
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ path: req.url, caller: payload.azp }));
      },
      () => {
        seen.push({ status: 401, token });
        res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer error="invalid_token"' }).end('{"message":"Unauthorized"}');
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('upstream-auth example', () => {
  let idp: TestIssuer;
  let backend: Awaited<ReturnType<typeof protectedBackend>>;
  let app: ReturnType<typeof upstreamAuthApp>;

  beforeAll(async () => {
    idp = await createTestIssuer({ clients: [{ clientId: 'gateway', clientSecret: 'gateway-secret', audience: BILLING_API }] });
    backend = await protectedBackend(idp);
    app = upstreamAuthApp({ issuer: idp.issuer, clientId: 'gateway', clientSecret: 'gateway-secret', backendAudience: BILLING_API, backendUrl: backend.url });
  });
  afterAll(async () => {
    await Promise.all([backend.close(), idp.close()]);
  });
  beforeEach(() => {
    idp.resetCounters();
    backend.seen.length = 0;
  });

  it('protects the backend: a caller going around the gateway is refused', async () => {
    const res = await fetch(`${backend.url}/invoices`, { headers: { authorization: 'Bearer made-up' } });
    expect(res.status).toBe(401);
  });

  it('sends its own token for the backend API: many requests, one token request', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => request(app).get(`/billing/invoices/${i}`).set('Authorization', 'Bearer the-callers-own-token')),
    );
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(results[7]!.body).toEqual({ path: '/invoices/7', caller: 'gateway' });
    // One token, fetched once for all twenty; the caller's own Authorization never reached the backend.
    expect(new Set(backend.seen.map((s) => s.token)).size).toBe(1);
    expect(backend.seen.some((s) => s.token === 'the-callers-own-token')).toBe(false);
    expect(idp.requests.token).toBe(1);
  });

  it('fetches a fresh token and retries once when the backend refuses the cached one', async () => {
    await request(app).get('/billing/invoices').expect(200);
    // The issuer rotates its signing key and stops publishing the old one: the gateway's
    // cached token no longer verifies at the backend.
    await idp.rotateKeys({ dropPrevious: true });
    idp.resetCounters();
    backend.seen.length = 0;

    const res = await request(app).get('/billing/invoices');
    expect(res.status).toBe(200);
    expect(backend.seen.map((s) => s.status)).toEqual([401, 200]);
    expect(backend.seen[0]!.token).not.toBe(backend.seen[1]!.token);
    expect(idp.requests.token).toBe(1);
  });

  it('shares one fresh token among concurrent requests the backend refused', async () => {
    await request(app).get('/billing/invoices').expect(200);
    await idp.rotateKeys({ dropPrevious: true });
    idp.resetCounters();
    backend.seen.length = 0;

    const results = await Promise.all(Array.from({ length: 10 }, () => request(app).get('/billing/invoices')));
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
    // Each request that went out with the old token was refused once (those that started after
    // the refresh used the new token at once), and all of them together caused one token request.
    expect(backend.seen.filter((s) => s.status === 401).length).toBeGreaterThan(0);
    expect(idp.requests.token).toBe(1);
  });
});

/**
 * The walkthrough end to end on loopback, in Koa: an Auth0-shaped issuer and an httpbin-like echo
 * upstream from tollgate/testing, the gateway of ./gateway.ts listening on 127.0.0.1.
 */
import type { Server } from 'node:http';
import request from 'supertest';
import { createEchoUpstream, createTestIssuer, type EchoResponse, type EchoUpstream, type TestIssuer } from 'tollgate/testing';
import { walkthroughApp } from './gateway';

const AUDIENCE = 'https://clientcredentials.com';

/** The limit counts per UTC minute: start the countdown with a few seconds of the minute left. */
async function clearOfMinuteBoundary(neededMs = 4000): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < neededMs) await new Promise((resolve) => setTimeout(resolve, left + 100));
}

describe('koa-gateway example', () => {
  let idp: TestIssuer;
  let upstream: EchoUpstream;
  let server: Server;

  beforeAll(async () => {
    idp = await createTestIssuer({ clients: [{ clientId: 'demo-client', clientSecret: 'demo-secret', audience: AUDIENCE }] });
    upstream = await createEchoUpstream();
    const app = walkthroughApp({ issuer: idp.issuer, audience: AUDIENCE, upstreamUrl: upstream.url, allowInsecureIssuer: true });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await Promise.all([idp.close(), upstream.close()]);
  });

  it('answers 401 without credentials and with a wrong secret, and the upstream sees neither', async () => {
    const none = await request(server).get('/httpbin/get');
    expect(none.status).toBe(401);
    expect(none.body).toEqual({ message: 'Unauthorized' });
    expect(none.headers['www-authenticate']).toBe(`Bearer realm="${new URL(idp.issuer).host}"`);

    const wrong = await request(server).get('/httpbin/get').auth('demo-client', 'wrong-secret');
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ message: 'Unauthorized' });
    expect(upstream.requests).toBe(0);
  });

  it('plays the walkthrough: Miss with the injected token, Hits with Age, the countdown, then 429', async () => {
    await clearOfMinuteBoundary();
    const tokensBefore = idp.requests.token;
    const send = () => request(server).get('/httpbin/get?show=headers').auth('demo-client', 'demo-secret');

    // 1. The gateway exchanges the client's id and secret for a token and forwards it upstream.
    const miss = await send();
    expect(miss.status).toBe(200);
    expect(miss.headers['x-cache-status']).toBe('Miss');
    expect(miss.headers['x-ratelimit-limit-minute']).toBe('5');
    expect(miss.headers['x-ratelimit-remaining-minute']).toBe('4');
    expect(miss.headers.via).toBe('1.1 tollgate');
    const echo = miss.body as EchoResponse;
    expect(echo.url).toBe('/get?show=headers');
    expect(echo.headers.authorization).toMatch(/^Bearer eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(echo.headers['x-forwarded-prefix']).toBe('/httpbin');
    // Minted for the API named by `tokenPostArgs.audience`, for this client (Auth0's claims).
    const claims = JSON.parse(Buffer.from(String(echo.headers.authorization).split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    expect(claims).toMatchObject({ aud: AUDIENCE, azp: 'demo-client', gty: 'client-credentials', iss: idp.issuer });

    // 2–5. Cached for 30 s: the upstream is not called again, but every request still counts.
    for (const remaining of ['3', '2', '1', '0']) {
      const hit = await send();
      expect(hit.status).toBe(200);
      expect(hit.headers['x-cache-status']).toBe('Hit');
      expect(hit.headers.age).toMatch(/^\d+$/);
      expect(hit.headers['x-ratelimit-remaining-minute']).toBe(remaining);
      expect((hit.body as EchoResponse).headers.authorization).toBe(echo.headers.authorization);
    }
    expect(upstream.requests).toBe(1);

    // 6. Over the limit.
    const limited = await send();
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ message: 'API rate limit exceeded' });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(limited.headers['x-ratelimit-remaining-minute']).toBe('0');

    // Six requests, one token request: the exchanged token is cached per client.
    expect(idp.requests.token - tokensBefore).toBe(1);
  });
});

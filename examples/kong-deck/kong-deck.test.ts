/**
 * The walkthrough's Kong configuration tested in-process with jest: the decK file itself, a local
 * Auth0-shaped issuer for the client credentials, and an httpbin-like echo upstream.
 */
import { readFileSync } from 'node:fs';
import request from 'supertest';
import { checkKong, type KongGateway } from 'tollgate/kong';
import { createEchoUpstream, createTestIssuer, type EchoResponse, type EchoUpstream, type TestIssuer } from 'tollgate/testing';
import { DECK_FILE, kongDeckApp, type DeckEnv } from './gateway';

const AUDIENCE = 'https://clientcredentials.com';
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

describe('the walkthrough as a decK file', () => {
  let idp: TestIssuer;
  let httpbin: EchoUpstream;
  let env: DeckEnv;
  const gateways: KongGateway[] = [];
  const fresh = () => {
    const { app, kong } = kongDeckApp(env);
    gateways.push(kong);
    return app;
  };

  beforeAll(async () => {
    [idp, httpbin] = await Promise.all([createTestIssuer({ clients: [{ clientId: 'machine', clientSecret: 'machine-secret', audience: AUDIENCE }] }), createEchoUpstream()]);
    env = { DECK_ISSUER: idp.issuer, DECK_AUDIENCE: AUDIENCE, DECK_HTTPBIN_URL: httpbin.url };
  });
  afterAll(async () => {
    await Promise.all([idp.close(), httpbin.close(), ...gateways.map((g) => g.close())]);
  });
  beforeEach(async () => {
    // 5 requests a minute, counted per UTC minute: a test never straddles two.
    const left = 60_000 - (Date.now() % 60_000);
    if (left < 5_000) await new Promise((resolve) => setTimeout(resolve, left + 50));
  });

  it('runs entirely in tollgate: nothing in the file is left out', () => {
    const findings = checkKong(readFileSync(DECK_FILE, 'utf8'), { env: { ...env } });
    expect(findings.filter((f) => f.status === 'unsupported' || f.status === 'invalid')).toEqual([]);
  });

  it('exchanges the client credentials with the audience and proxies with the access token', async () => {
    const res = await request(fresh()).get('/httpbin/anything?demo=1').set('authorization', basic('machine', 'machine-secret'));
    expect(res.status).toBe(200);
    const echo = res.body as EchoResponse;
    expect(echo.path).toBe('/anything');
    expect(echo.args).toEqual({ demo: '1' });
    const token = String(echo.headers.authorization);
    expect(token).toMatch(/^Bearer /);
    expect(JSON.parse(Buffer.from(token.slice(7).split('.')[1]!, 'base64url').toString())).toMatchObject({ aud: AUDIENCE, azp: 'machine' });
    expect(res.headers['x-ratelimit-limit-minute']).toBe('5');
    expect(res.headers['x-cache-status']).toBe('Miss');
  });

  it('refuses a request without credentials, and wrong ones, with 401', async () => {
    const app = fresh();
    const none = await request(app).get('/httpbin/anything');
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer realm=/);
    expect((await request(app).get('/httpbin/anything').set('authorization', basic('machine', 'wrong'))).status).toBe(401);
  });

  it('answers the second request from the cache for 30 seconds', async () => {
    const app = fresh();
    const get = () => request(app).get('/httpbin/anything/cached').set('authorization', basic('machine', 'machine-secret'));
    const before = httpbin.requests;
    expect((await get()).headers['x-cache-status']).toBe('Miss');
    const hit = await get();
    expect(hit.headers['x-cache-status']).toBe('Hit');
    expect(httpbin.requests - before).toBe(1);
  });

  it('allows 5 requests a minute and answers the sixth with 429', async () => {
    const app = fresh();
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await request(app).get(`/httpbin/anything?i=${i}`).set('authorization', basic('machine', 'machine-secret'))).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
  });

  it("answers Kong's 404 outside /httpbin", async () => {
    const res = await request(fresh()).get('/other');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ message: 'no Route matched with those values' });
  });
});

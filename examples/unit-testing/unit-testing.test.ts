/**
 * Unit-testing gateway policies in-process with tollgate/testing: a custom policy, the built-in
 * rate limiter and cache with no server at all, and oidc against a loopback test issuer — then
 * the same policies mounted in Express and driven with supertest.
 *
 * README.md in this folder shows the jest configuration this needs.
 */
import express from 'express';
import request from 'supertest';
import { oidc, proxyCache, rateLimit } from 'tollgate';
import { gateway, getContext } from 'tollgate/express';
import { createTestContext, createTestIssuer, runPlugin, type TestIssuer } from 'tollgate/testing';
import { TENANT_CLAIM, tenantGuard } from './tenant-guard';

describe('tenantGuard (a custom policy)', () => {
  // A context as oidc would have left it: no token needed to test what comes after it.
  const signedIn = (tenant: string, headers: Record<string, string> = {}) =>
    createTestContext({ url: '/orders', headers, credential: { id: 'user-1', type: 'bearer', claims: { [TENANT_CLAIM]: tenant } } });

  it('answers 403 when the credential names no tenant', async () => {
    const result = await runPlugin(tenantGuard(), createTestContext());
    expect(result.exited).toBe(true);
    expect(result.status).toBe(403);
    expect(result.body).toEqual({ message: 'Forbidden' });
  });

  it("tells the upstream the caller's tenant and echoes it on the response", async () => {
    const result = await runPlugin(tenantGuard(), signedIn('acme'), { body: { orders: [] } });
    expect(result.status).toBe(200);
    expect(result.ctx.request.header('x-tenant')).toBe('acme'); // what the upstream receives
    expect(result.ctx.shared.tenant).toBe('acme'); // what later plugins and the handler read
    expect(result.headers['x-tenant']).toBe('acme');
    expect(result.body).toEqual({ orders: [] });
  });

  it('answers 403 to a caller asking for another tenant', async () => {
    const result = await runPlugin(tenantGuard(), signedIn('acme', { 'X-Tenant': 'globex' }));
    expect(result.status).toBe(403);
  });
});

describe('rateLimit and proxyCache (built in, no server)', () => {
  const as = (consumer: string) => createTestContext({ url: '/orders', consumer: { id: consumer } });

  it('counts each consumer down, then answers 429', async () => {
    const limiter = rateLimit({ hour: 2 }); // one instance = one set of counters, like one route
    expect((await runPlugin(limiter, as('acme'))).headers['x-ratelimit-remaining-hour']).toBe('1');
    expect((await runPlugin(limiter, as('acme'))).headers['x-ratelimit-remaining-hour']).toBe('0');
    const refused = await runPlugin(limiter, as('acme'));
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({ message: 'API rate limit exceeded' });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    // Another consumer has its own counter.
    expect((await runPlugin(limiter, as('globex'))).status).toBe(200);
  });

  it('stores the first answer and replays it as a Hit', async () => {
    const cache = proxyCache({ cacheTtl: 30 });
    const first = await runPlugin(cache, as('acme'), { body: { n: 1 } });
    const second = await runPlugin(cache, as('acme'), { body: { n: 2 } }); // the handler would say 2…
    expect(first.headers['x-cache-status']).toBe('Miss');
    expect(second.headers['x-cache-status']).toBe('Hit');
    expect(second.body).toEqual({ n: 1 }); // …but the cache answered
  });
});

describe('oidc with a test issuer', () => {
  const API = 'https://orders.example.com';
  let idp: TestIssuer;
  let auth: ReturnType<typeof oidc>;

  beforeAll(async () => {
    idp = await createTestIssuer({ clients: [{ clientId: 'orders-app', clientSecret: 's3cret', scope: 'read:orders', claims: { [TENANT_CLAIM]: 'acme' } }] });
    auth = oidc({ issuer: idp.issuer, allowInsecureIssuer: true, authMethods: ['bearer', 'client_credentials'], audience: API, tokenPostArgs: { audience: API }, scopesRequired: ['read:orders'] });
  });
  afterAll(() => idp.close());

  const bearer = (token: string) => createTestContext({ headers: { authorization: `Bearer ${token}` } });

  it('accepts a token from the issuer and sets the consumer and credential', async () => {
    const result = await runPlugin(auth, bearer(await idp.clientToken('orders-app', { audience: API })));
    expect(result.status).toBe(200);
    expect(result.ctx.consumer).toEqual({ id: 'orders-app' });
    expect(result.ctx.credential).toMatchObject({ type: 'bearer', scopes: ['read:orders'] });
  });

  it('answers 403 insufficient_scope to a token without the scope, and 401 to a tampered one', async () => {
    const noScope = await runPlugin(auth, bearer(await idp.sign({ aud: API, sub: 'user-1', scope: 'write:orders' })));
    expect(noScope.status).toBe(403);
    expect(noScope.headers['www-authenticate']).toMatch(/error="insufficient_scope"/);
    const tampered = await runPlugin(auth, bearer(`${await idp.sign({ aud: API, scope: 'read:orders' })}x`));
    expect(tampered.status).toBe(401);
  });

  it('exchanges client credentials and forwards the access token instead', async () => {
    const basic = `Basic ${Buffer.from('orders-app:s3cret').toString('base64')}`;
    const result = await runPlugin(auth, createTestContext({ headers: { authorization: basic } }));
    expect(result.status).toBe(200);
    expect(result.ctx.request.header('authorization')).toMatch(/^Bearer eyJ/);
  });

  it('runs a whole chain in priority order: oidc, then the tenant guard, then the rate limit', async () => {
    const chain = [rateLimit({ hour: 10 }), tenantGuard(), auth]; // listed in any order
    const result = await runPlugin(chain, bearer(await idp.clientToken('orders-app', { audience: API })));
    expect(result.status).toBe(200);
    expect(result.headers).toMatchObject({ 'x-tenant': 'acme', 'x-ratelimit-remaining-hour': '9' });
  });

  it('works the same mounted in Express, driven with supertest', async () => {
    const app = express();
    app.use('/orders', gateway(auth, tenantGuard()));
    app.get('/orders', (req, res) => res.json({ tenant: req.headers['x-tenant'], consumer: getContext(req).consumer?.id }));

    const token = await idp.clientToken('orders-app', { audience: API });
    const ok = await request(app).get('/orders').set('Authorization', `Bearer ${token}`);
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ tenant: 'acme', consumer: 'orders-app' });
    await request(app).get('/orders').set('Authorization', `Bearer ${token}`).set('X-Tenant', 'globex').expect(403);
    await request(app).get('/orders').expect(401);
  });
});

import Koa from 'koa';
import mount from 'koa-mount';
import request from 'supertest';
import { oidc } from 'tollgate';
import { gateway, getContext } from 'tollgate/koa';
import { createTestIssuer, type TestIssuer } from 'tollgate/testing';

const AUDIENCE = 'https://clientcredentials.com';

describe('oidc under Koa', () => {
  let idp: TestIssuer;
  let app: Koa;
  beforeAll(async () => {
    idp = await createTestIssuer({ clients: [{ clientId: 'koa-client', clientSecret: 'koa-secret', scope: 'read' }] });
    app = new Koa();
    const api = new Koa();
    api.use(
      gateway(
        oidc({
          issuer: idp.issuer,
          allowInsecureIssuer: true,
          authMethods: ['client_credentials', 'bearer'],
          audience: AUDIENCE,
          tokenPostArgs: { audience: AUDIENCE },
          scopesRequired: ['read'],
          upstreamHeadersClaims: ['azp'],
          upstreamHeadersNames: ['x-client'],
        }),
      ),
    );
    api.use((ctx) => {
      ctx.body = { authorization: ctx.get('authorization'), client: ctx.get('x-client'), consumer: getContext(ctx).consumer };
    });
    app.use(mount('/httpbin', api));
  });
  afterAll(() => idp.close());

  it('runs the walkthrough: Basic credentials in, Bearer token and claim headers to the handler', async () => {
    const res = await request(app.callback()).get('/httpbin/anything').auth('koa-client', 'koa-secret').set('x-client', 'spoofed');
    expect(res.status).toBe(200);
    expect(res.body.authorization).toMatch(/^Bearer ey/);
    expect(res.body.client).toBe('koa-client');
    expect(res.body.consumer).toEqual({ id: 'koa-client' });
  });

  it('answers 401 JSON with the challenge for a bad token and a wrong secret', async () => {
    const bad = await request(app.callback()).get('/httpbin/anything').set('authorization', 'Bearer a.b.c');
    expect(bad.status).toBe(401);
    expect(bad.body).toEqual({ message: 'Unauthorized' });
    expect(bad.headers['www-authenticate']).toBe(`Bearer realm="${new URL(idp.issuer).host}", error="invalid_token"`);
    const wrong = await request(app.callback()).get('/httpbin/anything').auth('koa-client', 'nope');
    expect(wrong.status).toBe(401);
    expect(wrong.headers['www-authenticate']).toBe(`Bearer realm="${new URL(idp.issuer).host}"`);
  });

  it('answers 403 with insufficient_scope for a valid token without the scope', async () => {
    const token = await idp.sign({ aud: AUDIENCE, azp: 'koa-client', scope: 'write' });
    const res = await request(app.callback()).get('/httpbin/anything').set('authorization', `Bearer ${token}`);
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ message: 'Forbidden' });
    expect(res.headers['www-authenticate']).toContain('error="insufficient_scope", scope="read"');
  });
});

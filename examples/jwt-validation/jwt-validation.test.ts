/**
 * KrakenD's Auth0 integration end to end on loopback: tokens signed by an Auth0-shaped test
 * issuer, validated by the gateway of ./gateway.ts, proxied to an httpbin-like echo backend that
 * shows which headers it received (its `/anything/...` echoes any path).
 */
import request from 'supertest';
import type { JWTPayload } from 'jose';
import { createEchoUpstream, createTestIssuer, type EchoResponse, type EchoUpstream, type TestIssuer } from 'tollgate/testing';
import { jwtValidationApp, ROLES_CLAIM } from './gateway';

const AUDIENCE = 'https://orders.example.com';

describe('jwt-validation example', () => {
  let idp: TestIssuer;
  let backend: EchoUpstream;
  let app: ReturnType<typeof jwtValidationApp>;

  beforeAll(async () => {
    idp = await createTestIssuer();
    backend = await createEchoUpstream();
    app = jwtValidationApp({ issuer: idp.issuer, audience: AUDIENCE, backendUrl: `${backend.url}/anything`, allowInsecureIssuer: true });
  });
  afterAll(async () => {
    await Promise.all([idp.close(), backend.close()]);
  });

  /** An Auth0 user access token: `sub`, `azp` (the application), `scope`, and the roles an Action added. */
  const token = (claims: JWTPayload = {}) =>
    idp.sign({ sub: 'auth0|user-1', azp: 'orders-spa', aud: [AUDIENCE, `${idp.issuer}userinfo`], scope: 'openid read:orders', [ROLES_CLAIM]: ['admin', 'support'], ...claims });

  it('passes a valid token and propagates its claims as headers, replacing the ones the client sent', async () => {
    const before = backend.requests;
    const res = await request(app)
      .get('/orders/42?expand=items')
      .set('Authorization', `Bearer ${await token()}`)
      .set('X-User', 'someone-else')
      .set('X-Roles', 'superuser');
    expect(res.status).toBe(200);
    const echo = res.body as EchoResponse;
    expect(echo.url).toBe('/anything/orders/42?expand=items');
    expect(echo.headers).toMatchObject({ 'x-user': 'auth0|user-1', 'x-client-id': 'orders-spa', 'x-roles': 'admin,support' });
    expect(backend.requests).toBe(before + 1);
  });

  it('removes a spoofed claim header when the token does not have that claim', async () => {
    const res = await request(app)
      .get('/orders/42')
      .set('Authorization', `Bearer ${await token({ [ROLES_CLAIM]: undefined })}`)
      .set('X-Roles', 'admin');
    expect(res.status).toBe(200);
    expect((res.body as EchoResponse).headers['x-roles']).toBeUndefined();
  });

  it('answers 401 invalid_token to a token for another API', async () => {
    const before = backend.requests;
    const res = await request(app).get('/orders/42').set('Authorization', `Bearer ${await token({ aud: 'https://billing.example.com' })}`);
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ message: 'Unauthorized' });
    expect(res.headers['www-authenticate']).toBe(`Bearer realm="${new URL(idp.issuer).host}", error="invalid_token"`);
    expect(backend.requests).toBe(before);
  });

  it('answers 401 without a token', async () => {
    const res = await request(app).get('/orders/42');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe(`Bearer realm="${new URL(idp.issuer).host}"`);
  });

  it('answers 403 insufficient_scope to a valid token without the read:orders scope', async () => {
    const before = backend.requests;
    const res = await request(app).get('/orders/42').set('Authorization', `Bearer ${await token({ scope: 'openid write:orders' })}`);
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ message: 'Forbidden' });
    expect(res.headers['www-authenticate']).toMatch(/error="insufficient_scope", scope="read:orders"$/);
    expect(backend.requests).toBe(before);
  });

  it('lets an admin into /admin and answers 403 to a user without the admin role', async () => {
    const admin = await request(app).get('/admin/reports').set('Authorization', `Bearer ${await token()}`);
    expect(admin.status).toBe(200);
    expect((admin.body as EchoResponse).path).toBe('/anything/admin/reports');

    const before = backend.requests;
    const support = await request(app).get('/admin/reports').set('Authorization', `Bearer ${await token({ [ROLES_CLAIM]: ['support'] })}`);
    expect(support.status).toBe(403);
    expect(support.body).toEqual({ message: 'Forbidden' });
    expect(support.headers['www-authenticate']).toMatch(/error="insufficient_scope"/);
    expect(backend.requests).toBe(before);
  });
});

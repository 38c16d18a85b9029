import express from 'express';
import request from 'supertest';
import { oidc } from 'tollgate';
import { gateway } from 'tollgate/express';
import { createTestIssuer, type TestIssuer } from 'tollgate/testing';

describe('oidc introspection with a configured introspectionEndpoint', () => {
  let idp: TestIssuer;
  beforeAll(async () => {
    idp = await createTestIssuer({ introspectionAuthorization: 'Basic preset' });
  });
  afterAll(() => idp.close());

  it('introspects without fetching the discovery document (Kong oauth2-introspection knows only the URL)', async () => {
    const app = express();
    app.use(
      gateway(
        oidc({
          issuer: idp.issuer,
          allowInsecureIssuer: true,
          audience: false,
          authMethods: ['introspection'],
          introspectionEndpoint: idp.introspectionEndpoint,
          introspection: { authorizationValue: 'Basic preset' },
        }),
      ),
    );
    app.get('/', (_req, res) => res.send('ok'));
    const token = idp.opaqueToken({ sub: 's', exp: Math.floor(Date.now() / 1000) + 60 });
    expect((await request(app).get('/').set('authorization', `Bearer ${token}`)).status).toBe(200);
    expect(idp.requests).toMatchObject({ discovery: 0, introspection: 1 });
  });
});

import express from 'express';
import request from 'supertest';
import { oidc, setLogger, type OidcOptions } from 'tollgate';
import { gateway, getContext } from 'tollgate/express';
import { createTestIssuer, type TestIssuer } from 'tollgate/testing';

beforeAll(() => setLogger({ debug() {}, info() {}, warn() {}, error() {} }));
afterAll(() => setLogger(null));

const API = 'https://api';
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

describe('oidc introspection (RFC 7662)', () => {
  let idp: TestIssuer;
  beforeEach(async () => {
    idp = await createTestIssuer({ clients: [{ clientId: 'gateway', clientSecret: 'gw-secret' }], introspectionAuthorization: 'Basic preset-value' });
  });
  afterEach(() => idp.close());

  function app(extra: Partial<OidcOptions> = {}) {
    const a = express();
    a.use(
      gateway(
        oidc({
          issuer: idp.issuer,
          allowInsecureIssuer: true,
          authMethods: ['introspection'],
          audience: API,
          introspection: { clientId: 'gateway', clientSecret: 'gw-secret', customClaimsForward: ['tenant'] },
          ...extra,
        }),
      ),
    );
    a.get('/', (req, res) => {
      const ctx = getContext(req);
      const credentialHeaders = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k.startsWith('x-credential-')));
      res.json({ credentialHeaders, consumer: ctx.consumer, type: ctx.credential?.type });
    });
    return a;
  }

  it('passes an active opaque token and forwards Kong X-Credential-* headers, spoofed ones replaced', async () => {
    const exp = Math.floor(Date.now() / 1000) + 600;
    const token = idp.opaqueToken({ aud: API, sub: 'svc-1', client_id: 'reporting', scope: 'read write', tenant: 'acme', exp, username: 'reporter' });
    const res = await request(app()).get('/').set('authorization', `Bearer ${token}`).set('x-credential-sub', 'spoofed').set('x-credential-jti', 'spoofed');
    expect(res.status).toBe(200);
    expect(res.body.type).toBe('introspection');
    expect(res.body.consumer).toEqual({ id: 'reporting' });
    expect(res.body.credentialHeaders).toEqual({
      'x-credential-scope': 'read write',
      'x-credential-client-id': 'reporting',
      'x-credential-identifier': 'reporter',
      'x-credential-token-type': 'Bearer',
      'x-credential-exp': String(exp),
      'x-credential-iat': expect.stringMatching(/^\d+$/),
      'x-credential-sub': 'svc-1',
      'x-credential-iss': idp.issuer,
      'x-credential-aud': API,
      'x-credential-tenant': 'acme',
    });
  });

  it('answers 401 invalid_token to an inactive token', async () => {
    const res = await request(app()).get('/').set('authorization', 'Bearer not-a-token-the-issuer-knows');
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ message: 'Unauthorized' });
    expect(res.headers['www-authenticate']).toBe(`Bearer realm="${new URL(idp.issuer).host}", error="invalid_token"`);
  });

  it('caches results (active and inactive) for ttl seconds, keyed by the token', async () => {
    const a = app({ introspection: { clientId: 'gateway', clientSecret: 'gw-secret', ttl: 1 } });
    const token = idp.opaqueToken({ aud: API, sub: 'x' });
    await Promise.all(Array.from({ length: 5 }, () => request(a).get('/').set('authorization', `Bearer ${token}`)));
    for (let i = 0; i < 5; i++) expect((await request(a).get('/').set('authorization', `Bearer ${token}`)).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await request(a).get('/').set('authorization', 'Bearer unknown')).status).toBe(401);
    expect(idp.requests.introspection).toBe(2);
    await new Promise((r) => setTimeout(r, 1100));
    await request(a).get('/').set('authorization', `Bearer ${token}`);
    expect(idp.requests.introspection).toBe(3);
  });

  it('sends authorizationValue verbatim, and a wrong one is a 502 from the issuer, not a 401 for the client', async () => {
    const token = idp.opaqueToken({ aud: API, sub: 'x' });
    const preset = app({ introspection: { authorizationValue: 'Basic preset-value' } });
    expect((await request(preset).get('/').set('authorization', `Bearer ${token}`)).status).toBe(200);
    const wrong = app({ introspection: { authorizationValue: basic('gateway', 'nope') } });
    const res = await request(wrong).get('/').set('authorization', `Bearer ${token}`);
    expect(res.status).toBe(502);
    expect(res.body).toEqual({ message: 'The identity provider answered an invalid response (introspection)' });
  });

  it('checks the audience of introspected tokens', async () => {
    const a = app();
    expect((await request(a).get('/').set('authorization', `Bearer ${idp.opaqueToken({ aud: API })}`)).status).toBe(200);
    expect((await request(a).get('/').set('authorization', `Bearer ${idp.opaqueToken({ aud: 'https://other' })}`)).status).toBe(401);
    expect((await request(a).get('/').set('authorization', `Bearer ${idp.opaqueToken({ sub: 'no-aud' })}`)).status).toBe(401);
    // audience: false is the explicit opt-out: any active token passes
    const any = app({ audience: false });
    expect((await request(any).get('/').set('authorization', `Bearer ${idp.opaqueToken({ aud: 'https://other' })}`)).status).toBe(200);
  });

  it('verifies JWTs locally and introspects only opaque tokens when both methods are on', async () => {
    const a = app({ authMethods: ['bearer', 'introspection'] });
    const jwt = await idp.sign({ aud: API, sub: 'jwt-user' });
    const res = await request(a).get('/').set('authorization', `Bearer ${jwt}`);
    expect(res.status).toBe(200);
    expect(res.body.type).toBe('bearer');
    expect(idp.requests.introspection).toBe(0);
    expect((await request(a).get('/').set('authorization', `Bearer ${idp.opaqueToken({ aud: API })}`)).body.type).toBe('introspection');
  });
});

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import request from 'supertest';
import { decodeJwt } from 'jose';
import { oidc, setLogger, upstreamProxy, type OidcOptions } from 'tollgate';
import { gateway, getContext } from 'tollgate/express';
import { createTestIssuer, type TestIssuer } from 'tollgate/testing';
import { blackHole } from '../../identity/net';

const AUDIENCE = 'https://clientcredentials.com';
const SECRET = 'the-client-secret-never-leaves';

beforeAll(() => setLogger({ debug() {}, info() {}, warn() {}, error() {} }));
afterAll(() => setLogger(null));

/** The walkthrough's app: the gateway in front of a handler that echoes what it received. */
function walkthrough(idp: TestIssuer, extra: Partial<OidcOptions> = {}) {
  const app = express();
  app.use(express.urlencoded({ extended: false }));
  app.use(
    '/httpbin',
    gateway(oidc({ issuer: idp.issuer, allowInsecureIssuer: true, authMethods: ['client_credentials', 'bearer'], audience: AUDIENCE, tokenPostArgs: { audience: AUDIENCE }, ...extra })),
  );
  app.all('/httpbin/anything', (req, res) => {
    const ctx = getContext(req);
    res.json({ headers: req.headers, url: req.originalUrl, body: req.body ?? null, consumer: ctx.consumer, credential: { id: ctx.credential?.id, type: ctx.credential?.type } });
  });
  return app;
}

describe('oidc client_credentials (the Kong + Auth0 walkthrough)', () => {
  let idp: TestIssuer;
  beforeEach(async () => {
    idp = await createTestIssuer({ clients: [{ clientId: 'abc123', clientSecret: SECRET, scope: 'read:httpbin', audience: AUDIENCE }] });
  });
  afterEach(() => idp.close());

  it('exchanges Basic client credentials for a token with the audience; the upstream sees only the Bearer token', async () => {
    const res = await request(walkthrough(idp)).get('/httpbin/anything').auth('abc123', SECRET);
    expect(res.status).toBe(200);
    const authorization = res.body.headers.authorization as string;
    expect(authorization).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    expect(decodeJwt(authorization.slice(7))).toMatchObject({ iss: idp.issuer, aud: AUDIENCE, azp: 'abc123', sub: 'abc123@clients', gty: 'client-credentials', scope: 'read:httpbin' });
    expect(res.body.consumer).toEqual({ id: 'abc123' });
    expect(res.body.credential).toEqual({ id: 'abc123@clients', type: 'client_credentials' });
    expect(JSON.stringify(res.body)).not.toContain(SECRET);
    expect(JSON.stringify(res.body)).not.toContain(Buffer.from(`abc123:${SECRET}`).toString('base64'));
  });

  it('answers a wrong secret with 401 and does not ask the issuer again for every retry', async () => {
    const app = walkthrough(idp);
    for (let i = 0; i < 5; i++) {
      const res = await request(app).get('/httpbin/anything').auth('abc123', 'wrong');
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ message: 'Unauthorized' });
      expect(res.headers['www-authenticate']).toBe(`Bearer realm="${new URL(idp.issuer).host}"`);
    }
    expect(idp.requests.token).toBe(1);
    expect((await request(app).get('/httpbin/anything').auth('abc123', SECRET)).status).toBe(200);
  });

  it('answers Basic credentials with an empty secret or id with 401, without asking the issuer', async () => {
    const app = walkthrough(idp);
    for (const [id, secret] of [['abc123', ''], ['', SECRET]]) {
      const res = await request(app).get('/httpbin/anything').set('authorization', `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`);
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ message: 'Unauthorized' });
    }
    expect(idp.requests.token).toBe(0);
  });

  it('sends exactly one token request for 20 concurrent first requests, and none for 100 cached ones', async () => {
    const app = walkthrough(idp);
    const first = await Promise.all(Array.from({ length: 20 }, () => request(app).get('/httpbin/anything').auth('abc123', SECRET)));
    expect(first.every((r) => r.status === 200)).toBe(true);
    expect(new Set(first.map((r) => r.body.headers.authorization)).size).toBe(1);
    expect(idp.requests.token).toBe(1);
    idp.resetCounters();
    for (let i = 0; i < 100; i++) expect((await request(app).get('/httpbin/anything').auth('abc123', SECRET)).status).toBe(200);
    expect(idp.requests.token).toBe(0);
  });

  it('authenticates with client_secret_basic at the token endpoint when configured', async () => {
    idp.addClient({ clientId: 'basic-app', clientSecret: 'b-secret', tokenEndpointAuthMethod: 'client_secret_basic' });
    expect((await request(walkthrough(idp)).get('/httpbin/anything').auth('basic-app', 'b-secret')).status).toBe(401);
    const res = await request(walkthrough(idp, { tokenEndpointAuthMethod: 'client_secret_basic' })).get('/httpbin/anything').auth('basic-app', 'b-secret');
    expect(res.status).toBe(200);
  });

  it('applies scopesRequired to the token it obtained', async () => {
    const res = await request(walkthrough(idp, { scopesRequired: ['admin'] })).get('/httpbin/anything').auth('abc123', SECRET);
    expect(res.status).toBe(403);
    expect(res.headers['www-authenticate']).toContain('error="insufficient_scope", scope="admin"');
  });

  it('ignores client_id/client_secret arguments unless allowed, and strips them from what the upstream gets when allowed', async () => {
    const query = `?client_id=abc123&page=2&client_secret=${SECRET}&q=a%20b`;
    expect((await request(walkthrough(idp)).get(`/httpbin/anything${query}`)).status).toBe(401);
    expect(idp.requests.token).toBe(0);

    const lax = walkthrough(idp, { clientCredentialsParamType: ['header', 'query', 'body'] });
    const viaQuery = await request(lax).get(`/httpbin/anything${query}`);
    expect(viaQuery.status).toBe(200);
    expect(viaQuery.body.url).toBe('/httpbin/anything?page=2&q=a%20b');
    const viaBody = await request(lax).post('/httpbin/anything').type('form').send({ client_id: 'abc123', client_secret: SECRET, note: 'hi' });
    expect(viaBody.status).toBe(200);
    expect(viaBody.body.body).toEqual({ note: 'hi' });
    expect(JSON.stringify([viaQuery.body, viaBody.body])).not.toContain(SECRET);
  });

  it('sends the upstream behind upstreamProxy the Bearer token, never the secret (header or query)', async () => {
    const upstream = http.createServer((req, res) => res.end(JSON.stringify({ url: req.url, authorization: req.headers.authorization })));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const proxy = upstreamProxy({ url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` });
    try {
      const app = express();
      app.use(
        '/httpbin',
        gateway(
          oidc({ issuer: idp.issuer, allowInsecureIssuer: true, authMethods: ['client_credentials'], tokenPostArgs: { audience: AUDIENCE }, clientCredentialsParamType: ['header', 'query'] }),
          proxy,
        ),
      );
      const viaHeader = await request(app).get('/httpbin/anything?x=1').auth('abc123', SECRET);
      expect(viaHeader.status).toBe(200);
      expect(JSON.parse(viaHeader.text)).toMatchObject({ url: '/anything?x=1', authorization: expect.stringMatching(/^Bearer ey/) });
      const viaQuery = await request(app).get(`/httpbin/anything?client_id=abc123&client_secret=${SECRET}&x=1`);
      expect(viaQuery.status).toBe(200);
      expect(JSON.parse(viaQuery.text)).toMatchObject({ url: '/anything?x=1', authorization: expect.stringMatching(/^Bearer ey/) });
      expect(viaHeader.text + viaQuery.text).not.toContain(SECRET);
      expect(idp.requests.token).toBe(1);
    } finally {
      proxy.close();
      upstream.closeAllConnections();
      upstream.close();
    }
  });

  it('answers 401 to a malformed Basic header without calling the issuer', async () => {
    const res = await request(walkthrough(idp)).get('/httpbin/anything').set('authorization', 'Basic !!!not-base64');
    expect(res.status).toBe(401);
    const noColon = await request(walkthrough(idp)).get('/httpbin/anything').set('authorization', `Basic ${Buffer.from('just-an-id').toString('base64')}`);
    expect(noColon.status).toBe(401);
    expect(idp.requests.token).toBe(0);
  });

  it('still accepts bearer tokens alongside client credentials', async () => {
    const token = await idp.clientToken('abc123', { audience: AUDIENCE });
    const res = await request(walkthrough(idp)).get('/httpbin/anything').set('authorization', `Bearer ${token}`);
    expect(res.status).toBe(200);
    expect(res.body.credential.type).toBe('bearer');
    expect(idp.requests.token).toBe(0);
  });

  it('answers 502 JSON when the token endpoint fails and 503 quickly when it never answers', async () => {
    idp.setOutage('error');
    const failing = await request(walkthrough(idp)).get('/httpbin/anything').auth('abc123', SECRET);
    expect(failing.status).toBe(502);
    expect(failing.body).toEqual({ message: 'The identity provider answered an invalid response (discovery)' });
    idp.setOutage('none');
    const hole = await blackHole();
    try {
      const app = walkthrough(idp, { tokenEndpoint: `${hole.url}oauth/token`, timeout: 300 });
      const started = Date.now();
      const res = await request(app).get('/httpbin/anything').auth('abc123', SECRET);
      expect(res.status).toBe(503);
      expect(res.body).toEqual({ message: 'The identity provider is unreachable (token endpoint)' });
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      await hole.close();
    }
  });
});

/**
 * The browser-login example end to end on loopback with supertest's agent as the browser: the
 * Auth0-shaped test issuer's login page, the session, the backend called with the user's token.
 */
import request from 'supertest';
import { decodeJwt } from 'jose';
import { createEchoUpstream, createTestIssuer, type EchoResponse, type EchoUpstream, type TestIssuer } from 'tollgate/testing';
import { browserLoginApp } from './gateway';

const API = 'https://api.example.com';

describe('browser-login example', () => {
  let idp: TestIssuer;
  let backend: EchoUpstream;
  let app: ReturnType<typeof browserLoginApp>;

  beforeAll(async () => {
    idp = await createTestIssuer({ users: [{ username: 'alice', password: 'pw', claims: { email: 'alice@example.com' } }] });
    idp.addClient({ clientId: 'web', clientSecret: 'web-secret' });
    backend = await createEchoUpstream();
    app = browserLoginApp({
      issuer: idp.issuer,
      allowInsecureIssuer: true,
      clientId: 'web',
      clientSecret: 'web-secret',
      baseUrl: 'http://127.0.0.1',
      audience: API,
      sessionSecrets: ['an-example-session-secret-0123456789'],
      backendUrl: `${backend.url}/anything`, // the echo backend answers any path under /anything
    });
  });
  afterAll(async () => {
    await Promise.all([idp.close(), backend.close()]);
  });

  it('signs a browser in, then calls the backend with the user access token from the session', async () => {
    const browser = request.agent(app);
    const start = await browser.get('/app').set('accept', 'text/html');
    expect(start.status).toBe(302);
    const callback = new URL(await idp.authorize(start.headers.location!));
    await browser.get(`${callback.pathname}${callback.search}`).expect(302).expect('location', '/app');
    await browser.get('/app').expect(200, '<h1>Hello alice@example.com</h1>');

    const echoed = await browser.get('/api/orders').set('accept', 'application/json');
    expect(echoed.status).toBe(200);
    const seen = (echoed.body as EchoResponse).headers;
    expect(decodeJwt(String(seen.authorization).slice('Bearer '.length))).toMatchObject({ sub: 'auth0|alice', aud: [API, `${idp.issuer}userinfo`] });
    // The session cookie stays at the gateway.
    expect(seen.cookie).toBeUndefined();
    expect(echoed.headers['x-ratelimit-remaining-minute']).toBe('59');
  });

  it('answers API calls without a session 401, and takes a machine token instead', async () => {
    await request(app).get('/api/orders').expect(401);
    const token = await idp.sign({ aud: API, sub: 'machine@clients', azp: 'machine' });
    await request(app).get('/api/orders').set('authorization', `Bearer ${token}`).expect(200);
  });
});

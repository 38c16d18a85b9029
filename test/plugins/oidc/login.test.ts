/**
 * End-user login under Express against createTestIssuer (Auth0-shaped): the redirect, the
 * callback and its failures, the session on later requests, API clients, tampering, logout.
 */
import express from 'express';
import { decodeJwt } from 'jose';
import { oidc, type OidcOptions, type OidcPlugin } from 'tollgate';
import { gateway, getContext } from 'tollgate/express';
import { createTestIssuer, type TestIssuer } from 'tollgate/testing';
import { HTML, Jar, jsonOf, listen, navigate, send, setCookies, signIn } from './login-support';

const SECRET = 'a-session-secret-of-at-least-32-characters';
const API = 'https://api.example.com';

describe('oidc authorization_code + session (Express, test issuer)', () => {
  let idp: TestIssuer;
  let server: Awaited<ReturnType<typeof listen>>;
  let base: string;
  const plugins: OidcPlugin[] = [];

  /** Serves an app whose /app is protected with these options on top of the defaults below. */
  function serve(extra: Partial<OidcOptions> = {}, configure?: (app: express.Express) => void): OidcPlugin {
    const plugin = oidc({
      issuer: idp.issuer,
      allowInsecureIssuer: true,
      authMethods: ['authorization_code', 'session'],
      clientId: 'web',
      clientSecret: 'web-secret',
      redirectUri: `${base}/app/callback`,
      scopes: ['openid', 'profile', 'offline_access'],
      authorizationQueryArgs: { audience: API },
      sessionSecret: SECRET,
      logoutUri: '/app/logout',
      logoutRedirectUri: `${base}/bye`,
      ...extra,
    } as OidcOptions);
    plugins.push(plugin);
    const app = express();
    configure?.(app);
    app.use('/app', gateway(plugin));
    app.get('/app/*path', (req, res) => {
      const ctx = getContext(req);
      res.json({ path: req.originalUrl, authorization: req.headers.authorization, cookie: req.headers.cookie ?? null, consumer: ctx.consumer, credential: ctx.credential });
    });
    server.serve(app);
    return plugin;
  }

  beforeAll(async () => {
    idp = await createTestIssuer({
      users: [{ username: 'alice', password: 'wonderland', claims: { email: 'alice@example.com' } }],
    });
    server = await listen();
    base = server.url;
    idp.addClient({ clientId: 'web', clientSecret: 'web-secret', redirectUris: [`${base}/app/callback`], logoutUrls: [`${base}/bye`] });
  });
  afterAll(async () => {
    for (const p of plugins) await p.close();
    await server.close();
    await idp.close();
  });

  it('redirects a browser to the authorization endpoint with PKCE S256, state, nonce and the query arguments', async () => {
    serve();
    const jar = new Jar();
    const res = await navigate(`${base}/app/orders?page=2`, jar);
    expect(res.status).toBe(302);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const url = new URL(res.headers.get('location')!);
    expect(`${url.origin}${url.pathname}`).toBe(idp.authorizationEndpoint);
    const q = Object.fromEntries(url.searchParams);
    expect(q).toMatchObject({ response_type: 'code', client_id: 'web', redirect_uri: `${base}/app/callback`, scope: 'openid profile offline_access', code_challenge_method: 'S256', audience: API });
    expect(q.code_challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // At least 128 bits each: 43 base64url characters are 256.
    expect(q.state).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(q.nonce).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    const [tx] = setCookies(res);
    expect(tx).toMatchObject({ name: 'session_authorization', attributes: { path: '/', httponly: '', samesite: 'Lax', 'max-age': '600' } });
    expect(tx!.attributes).not.toHaveProperty('secure');
    // Sealed: neither the verifier nor the state can be read from it.
    expect(tx!.value.split('.')).toHaveLength(5);
    expect(tx!.value).not.toContain(q.state);
  });

  it('answers API clients 401 JSON with the Bearer challenge, never a redirect', async () => {
    serve();
    const realm = `Bearer realm="${new URL(idp.issuer).host}"`;
    const cases: Record<string, string>[] = [
      { accept: 'application/json' },
      {},
      { accept: HTML, 'x-requested-with': 'XMLHttpRequest' },
      { accept: HTML, 'sec-fetch-mode': 'cors' },
      { accept: 'text/html;q=0, application/json' },
    ];
    for (const headers of cases) {
      const res = await send(`${base}/app/orders`, { headers });
      expect([res.status, res.headers.get('www-authenticate'), await res.json()]).toEqual([401, realm, { message: 'Unauthorized' }]);
      expect(res.headers.get('set-cookie')).toBeNull();
    }
    const post = await navigate(`${base}/app/orders`, new Jar(), { method: 'POST' });
    expect(post.status).toBe(401);
  });

  it('signs in: the callback sets an HttpOnly Lax session and returns to the page first asked for', async () => {
    serve();
    const jar = new Jar();
    const callback = await signIn(base, '/app/orders?page=2', idp, jar);
    expect(callback.status).toBe(302);
    expect(callback.headers.get('location')).toBe('/app/orders?page=2');
    const cookies = setCookies(callback);
    expect(cookies.find((c) => c.name === 'session_authorization')?.attributes['max-age']).toBe('0');
    const session = cookies.find((c) => c.name === 'session')!;
    expect(session.attributes).toMatchObject({ path: '/', httponly: '', samesite: 'Lax', 'max-age': '86400' });
    expect(session.value.split('.')).toHaveLength(5);
    expect([...jar.cookies.keys()]).toEqual(['session']);

    const page = await fetch(`${base}/app/orders?page=2`, { headers: { cookie: `${jar.header()}; theme=dark` } });
    expect(page.status).toBe(200);
    const body = await jsonOf(page);
    expect(body.authorization).toMatch(/^Bearer ey/);
    expect(decodeJwt(body.authorization.slice(7))).toMatchObject({ aud: [API, `${idp.issuer}userinfo`], azp: 'web', sub: 'auth0|alice' });
    // The user (ID token's sub), not the web application (the access token's azp).
    expect(body.consumer).toEqual({ id: 'auth0|alice' });
    expect(body.credential).toMatchObject({ id: 'auth0|alice', type: 'session', claims: { email: 'alice@example.com', sub: 'auth0|alice' } });
    expect(body.credential.scopes).toEqual(['openid', 'profile', 'offline_access']);
    // The session stays at the gateway; the app's own cookies go on.
    expect(body.cookie).toBe('theme=dark');
    // An API client (fetch with the browser's cookies) is signed in too.
    const api = await fetch(`${base}/app/orders`, { headers: { cookie: jar.header(), accept: 'application/json' } });
    expect(api.status).toBe(200);
  });

  it('returns only to a path of this host, never to another origin', async () => {
    const evil = express();
    const root = oidc({
      issuer: idp.issuer, allowInsecureIssuer: true, authMethods: ['authorization_code', 'session'], clientId: 'web', clientSecret: 'web-secret',
      redirectUri: `${base}/app/callback`, sessionSecret: SECRET,
    });
    plugins.push(root);
    evil.use(gateway(root));
    evil.use((_req, res) => res.json({ ok: true }));
    server.serve(evil);
    const jar = new Jar();
    const first = await navigate(`${base}//evil.example/steal`, jar);
    const callback = await navigate(await idp.authorize(first.headers.get('location')!), jar);
    expect(callback.status).toBe(302);
    expect(callback.headers.get('location')).toBe('/evil.example/steal');
  });

  it('refuses a forged state, a replayed code, a missing transaction and an IdP error with 4xx JSON and no session', async () => {
    serve();
    const jar = new Jar();
    const first = await navigate(`${base}/app/`, jar);
    const callbackUrl = new URL(await idp.authorize(first.headers.get('location')!));
    const tx = jar.clone();

    const forged = new URL(callbackUrl);
    forged.searchParams.set('state', 'forged-state-forged-state-forged-state-forged');
    const a = await navigate(forged.href, jar.clone());
    expect(a.status).toBe(400);
    expect(await a.json()).toEqual({ message: 'The login could not be completed; start again from the page you asked for' });
    expect(setCookies(a).map((c) => [c.name, c.attributes['max-age']])).toEqual([['session_authorization', '0']]);

    const ok = await navigate(callbackUrl.href, jar);
    expect(ok.status).toBe(302);
    // The same code again, with a copy of the transaction cookie: the issuer refuses it.
    const replay = await navigate(callbackUrl.href, tx);
    expect(replay.status).toBe(400);
    expect(setCookies(replay).some((c) => c.name === 'session' && c.attributes['max-age'] !== '0')).toBe(false);

    const missing = await navigate(callbackUrl.href, new Jar());
    expect(missing.status).toBe(400);
    expect(await missing.json()).toHaveProperty('message');

    const denyJar = new Jar();
    const start = await navigate(`${base}/app/`, denyJar);
    const denied = await navigate(await idp.authorize(start.headers.get('location')!, { consent: false }), denyJar);
    expect(denied.status).toBe(401);
    expect(await denied.json()).toEqual({ message: 'The identity provider refused the login' });
    expect(denyJar.cookies.size).toBe(0);

    // A garbled transaction cookie is no transaction either.
    const garbled = await navigate(callbackUrl.href, new Jar().update({ headers: { 'set-cookie': ['session_authorization=eyJhbGciOiJkaXIifQ..x.y.z'] } }));
    expect(garbled.status).toBe(400);
  });

  it('sends a signed-in browser that opens the callback again back to the app, without a new session', async () => {
    serve();
    const jar = new Jar();
    const callback = await signIn(base, '/app/x', idp, jar);
    const again = await navigate(`${base}/app/callback?code=old&state=old`, jar);
    expect([callback.status, again.status, again.headers.get('location')]).toEqual([302, 302, '/app']);
    expect(setCookies(again)).toEqual([]);
  });

  it('treats a tampered, truncated or foreign session cookie as no session, and clears it', async () => {
    serve();
    const jar = new Jar();
    await signIn(base, '/app/x', idp, jar);
    const value = jar.cookies.get('session')!;
    const parts = value.split('.');
    const flipped = parts[3]!.startsWith('A') ? `B${parts[3]!.slice(1)}` : `A${parts[3]!.slice(1)}`;
    const tampered = [...parts.slice(0, 3), flipped, parts[4]].join('.');
    for (const bad of [tampered, value.slice(0, -5), 'not-a-jwe']) {
      const api = await fetch(`${base}/app/x`, { headers: { cookie: `session=${bad}`, accept: 'application/json' } });
      expect(api.status).toBe(401);
      expect(setCookies(api).map((c) => [c.name, c.attributes['max-age']])).toEqual([['session', '0']]);
      const browser = await navigate(`${base}/app/x`, new Jar().update({ headers: { 'set-cookie': [`session=${bad}`] } }));
      expect(browser.status).toBe(302);
    }
    // Sealed with another secret: not a session here.
    serve({ sessionSecret: 'another-secret-that-is-32-characters-long' });
    expect((await fetch(`${base}/app/x`, { headers: { cookie: jar.header() } })).status).toBe(401);
  });

  it('lets a bearer token win over a session on a route that takes both', async () => {
    serve({ authMethods: ['bearer', 'authorization_code', 'session'], audience: API });
    const jar = new Jar();
    await signIn(base, '/app/x', idp, jar);
    const token = await idp.sign({ aud: API, azp: 'machine', sub: 'machine@clients' });
    const res = await fetch(`${base}/app/x`, { headers: { cookie: jar.header(), authorization: `Bearer ${token}` } });
    const body = await jsonOf(res);
    expect([res.status, body.credential.type, body.consumer]).toEqual([200, 'bearer', { id: 'machine' }]);
    const sessionOnly = await jsonOf(await fetch(`${base}/app/x`, { headers: { cookie: jar.header() } }));
    expect(sessionOnly.credential.type).toBe('session');
    expect((await fetch(`${base}/app/x`, { headers: { cookie: jar.header(), authorization: 'Bearer a.b.c' } })).status).toBe(401);
  });

  it('logs out: clears the session and sends the browser to the end-session endpoint with id_token_hint', async () => {
    serve();
    const jar = new Jar();
    await signIn(base, '/app/x', idp, jar);
    const idToken = (await jsonOf(await fetch(`${base}/app/x`, { headers: { cookie: jar.header() } }))).credential.claims;
    expect(idToken.sub).toBe('auth0|alice');
    const before = idp.requests.endSession;
    const res = await navigate(`${base}/app/logout`, jar, { method: 'POST' });
    expect(res.status).toBe(303);
    const to = new URL(res.headers.get('location')!);
    expect(`${to.origin}${to.pathname}`).toBe(idp.endSessionEndpoint);
    expect(decodeJwt(to.searchParams.get('id_token_hint')!)).toMatchObject({ sub: 'auth0|alice', aud: 'web' });
    expect(to.searchParams.get('post_logout_redirect_uri')).toBe(`${base}/bye`);
    expect(to.searchParams.get('client_id')).toBe('web');
    expect(jar.cookies.size).toBe(0);
    // The issuer accepts it and sends the browser back.
    const idpAnswer = await fetch(to, { redirect: 'manual' });
    expect([idpAnswer.status, idpAnswer.headers.get('location'), idp.requests.endSession - before]).toEqual([302, `${base}/bye`, 1]);
    // GET is not a logout method by default: a link cannot log anyone out.
    const jar2 = new Jar();
    await signIn(base, '/app/x', idp, jar2);
    expect((await navigate(`${base}/app/logout`, jar2)).status).toBe(200);
    // fetch()/XHR gets 204 rather than a redirect it cannot follow.
    const api = await fetch(`${base}/app/logout`, { method: 'DELETE', headers: { cookie: jar2.header() } });
    expect(api.status).toBe(204);
    expect(setCookies(api).map((c) => [c.name, c.attributes['max-age']])).toEqual([['session', '0']]);
  });

  it('revokes the refresh and access tokens at logout when logoutRevoke is set', async () => {
    serve({ logoutRevoke: true });
    const jar = new Jar();
    await signIn(base, '/app/x', idp, jar);
    const copy = jar.clone();
    const before = idp.requests.revocation;
    await navigate(`${base}/app/logout`, jar, { method: 'POST' });
    expect(idp.requests.revocation - before).toBe(2);
    // The copied cookie still opens (cookie sessions cannot be revoked) but its refresh token is dead:
    // once the access token expires, the session ends.
    const clock = Date.now() + 2 * 86_400_000;
    serve({ now: () => clock, sessionAbsoluteTimeout: 10 * 86_400, sessionIdlingTimeout: 0, sessionRollingTimeout: 0 });
    const res = await fetch(`${base}/app/x`, { headers: { cookie: copy.header(), accept: 'application/json' } });
    expect(res.status).toBe(401);
  });
});

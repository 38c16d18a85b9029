/**
 * End-user login against the real, certified `oidc-provider`, with PKCE required, its own login and
 * consent pages, refresh-token rotation and RP-initiated logout — under Express and Koa.
 */
import { randomBytes } from 'node:crypto';
import express from 'express';
import Koa from 'koa';
import { oidc, type OidcOptions, type OidcPlugin } from 'tollgate';
import { gateway, getContext } from 'tollgate/express';
import { gateway as koaGateway, getContext as koaContext } from 'tollgate/koa';
import { startLoginProvider, type LoginProviderFixture } from '../../support/oidc-login-provider';
import { Jar, jsonOf, listen, navigate, send, setCookies } from './login-support';

describe('oidc authorization_code + session against oidc-provider', () => {
  let op: LoginProviderFixture;
  let server: Awaited<ReturnType<typeof listen>>;
  let base: string;
  let clock = Date.now();
  const plugins: OidcPlugin[] = [];

  function options(extra: Partial<OidcOptions> = {}): OidcOptions {
    return {
      issuer: op.issuer,
      allowInsecureIssuer: true,
      authMethods: ['authorization_code', 'session'],
      clientId: op.clientId,
      clientSecret: op.clientSecret,
      redirectUri: `${base}/app/callback`,
      scopes: ['openid', 'offline_access'],
      // oidc-provider grants offline_access (a refresh token) only with an explicit consent prompt.
      authorizationQueryArgs: { prompt: 'consent' },
      sessionSecret: 'an-oidc-provider-session-secret-0123456789',
      logoutUri: '/app/logout',
      logoutRedirectUri: `${base}/bye`,
      sessionIdlingTimeout: 0,
      now: () => clock,
      ...extra,
    } as OidcOptions;
  }

  function serveExpress(extra: Partial<OidcOptions> = {}): void {
    const plugin = oidc(options(extra));
    plugins.push(plugin);
    const app = express();
    app.use('/app', gateway(plugin));
    app.get('/app/*path', (req, res) => {
      const ctx = getContext(req);
      res.json({ authorization: req.headers.authorization, consumer: ctx.consumer, credential: ctx.credential });
    });
    server.serve(app);
  }

  /** The whole sign-in through oidc-provider's pages; resolves with the callback's answer. */
  async function signIn(jar: Jar, path = '/app/orders?sort=new', login = 'alice'): Promise<Response> {
    const first = await navigate(`${base}${path}`, jar);
    expect(first.status).toBe(302);
    const callback = await op.signIn(first.headers.get('location')!, login, `${base}/app/callback`);
    return navigate(callback, jar);
  }

  const api = (jar: Jar) => send(`${base}/app/x`, { headers: { cookie: jar.header(), accept: 'application/json' } });

  beforeAll(async () => {
    server = await listen();
    base = server.url;
    op = await startLoginProvider(() => ({ callback: `${base}/app/callback`, logout: `${base}/bye` }));
  });
  afterEach(() => {
    clock = Date.now();
  });
  afterAll(async () => {
    for (const p of plugins) await p.close();
    await server.close();
    await op.stop();
  });

  it('redirects to its authorization endpoint with PKCE, which it requires', async () => {
    serveExpress();
    const res = await navigate(`${base}/app/orders`, new Jar());
    const url = new URL(res.headers.get('location')!);
    expect(`${url.origin}${url.pathname}`).toBe(`${op.issuer}/auth`);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    // The same request without PKCE is refused by the provider.
    url.searchParams.delete('code_challenge');
    url.searchParams.delete('code_challenge_method');
    const refused = await fetch(url, { redirect: 'manual' });
    const back = new URL(refused.headers.get('location')!);
    expect(back.searchParams.get('error')).toBe('invalid_request');
    expect(back.searchParams.get('error_description')).toMatch(/PKCE/);
    expect((await api(new Jar())).status).toBe(401);
  });

  it("signs in through its login and consent pages and lands on the page first asked for", async () => {
    serveExpress();
    const jar = new Jar();
    const before = op.grants.authorizationCode;
    const callback = await signIn(jar);
    expect([callback.status, callback.headers.get('location')]).toEqual([302, '/app/orders?sort=new']);
    expect(op.grants.authorizationCode - before).toBe(1);
    const body = await jsonOf(await api(jar));
    expect(body.consumer).toEqual({ id: 'alice' });
    expect(body.credential).toMatchObject({ id: 'alice', type: 'session', claims: { sub: 'alice', aud: op.clientId, iss: op.issuer } });
    expect(body.authorization).toMatch(/^Bearer [A-Za-z0-9_-]{20,}$/);
  });

  it('refuses a tampered cookie, a forged state and a replayed code', async () => {
    serveExpress();
    const jar = new Jar();
    const first = await navigate(`${base}/app/x`, jar);
    const callbackUrl = await op.signIn(first.headers.get('location')!, 'bob', `${base}/app/callback`);
    const tx = jar.clone();
    const forged = new URL(callbackUrl);
    forged.searchParams.set('state', randomBytes(32).toString('base64url'));
    expect((await navigate(forged.href, jar.clone())).status).toBe(400);
    expect((await navigate(callbackUrl, jar)).status).toBe(302);
    const refused = op.grants.refused;
    const replay = await navigate(callbackUrl, tx);
    expect(replay.status).toBe(400);
    expect(op.grants.refused - refused).toBe(1);
    expect(setCookies(replay).filter((c) => c.name === 'session')).toEqual([]);

    const value = jar.cookies.get('session')!;
    const tampered = new Jar().update({ headers: { 'set-cookie': [`session=${value.slice(0, 60)}x${value.slice(61)}`] } });
    expect((await api(tampered)).status).toBe(401);
    expect((await api(jar)).status).toBe(200);
  });

  it('refreshes an expired access token exactly once for three concurrent requests (counted at the provider)', async () => {
    serveExpress();
    const jar = new Jar();
    await signIn(jar);
    const old = jar.clone();
    const first = (await jsonOf(await api(jar))).authorization;
    const before = op.grants.refreshToken;
    clock += (op.accessTokenTtl + 60) * 1000;
    const all = await Promise.all([api(jar), api(jar), api(jar)]);
    expect(all.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(op.grants.refreshToken - before).toBe(1);
    const tokens = new Set(await Promise.all(all.map(async (r) => (await jsonOf(r)).authorization)));
    expect(tokens.size).toBe(1);
    expect(tokens.has(first)).toBe(false);
    // A request the browser sent with the old cookie (before it saw the new one) shares the
    // result: the rotated-out refresh token is not sent again.
    expect((await api(old)).status).toBe(200);
    expect(op.grants.refreshToken - before).toBe(1);
  });

  it('logs out to its end_session_endpoint with an id_token_hint it accepts', async () => {
    serveExpress();
    const jar = new Jar();
    await signIn(jar);
    const res = await navigate(`${base}/app/logout`, jar, { method: 'POST' });
    expect(res.status).toBe(303);
    const to = new URL(res.headers.get('location')!);
    expect(`${to.origin}${to.pathname}`).toBe(`${op.issuer}/session/end`);
    expect(to.searchParams.get('id_token_hint')).toMatch(/^ey/);
    expect(to.searchParams.get('post_logout_redirect_uri')).toBe(`${base}/bye`);
    expect(jar.cookies.size).toBe(0);
    expect(await op.endSession(to.href, `${base}/bye`)).toBe(`${base}/bye`);
  });

  it("refuses a Redis session's cookie after logout", async () => {
    const prefix = `tollgate-test:${randomBytes(6).toString('hex')}:`;
    serveExpress({ sessionStorage: 'redis', redis: { url: 'redis://127.0.0.1:6379', prefix } });
    const jar = new Jar();
    await signIn(jar);
    const copy = jar.clone();
    expect((await api(copy)).status).toBe(200);
    await navigate(`${base}/app/logout`, jar, { method: 'POST' });
    expect((await api(copy)).status).toBe(401);
    const browser = await navigate(`${base}/app/x`, copy);
    expect(browser.status).toBe(302);
  });

  it('works the same under Koa', async () => {
    const plugin = oidc(options());
    plugins.push(plugin);
    const app = new Koa();
    app.use(koaGateway(plugin));
    app.use((ctx) => {
      const c = koaContext(ctx);
      ctx.set('Set-Cookie', 'app=koa; Path=/');
      ctx.body = { authorization: ctx.get('authorization'), consumer: c.consumer, type: c.credential?.type };
    });
    server.serve(app.callback());
    const jar = new Jar();
    const callback = await signIn(jar, '/app/koa?x=1', 'carol');
    expect([callback.status, callback.headers.get('location')]).toEqual([302, '/app/koa?x=1']);
    const res = await api(jar);
    const body = await jsonOf(res);
    expect([res.status, body.consumer, body.type]).toEqual([200, { id: 'carol' }, 'session']);
    expect(body.authorization).toMatch(/^Bearer /);
    expect(await jsonOf(await send(`${base}/app/x`, { headers: { accept: 'application/json' } }))).toEqual({ message: 'Unauthorized' });
    // A renewal rides on the response Koa writes, next to the app's own cookie.
    clock += (op.accessTokenTtl + 60) * 1000;
    const refreshed = await api(jar);
    expect(setCookies(refreshed).map((c) => c.name).sort()).toEqual(['app', 'session']);
    const out = await navigate(`${base}/app/logout`, jar, { method: 'POST' });
    expect(out.status).toBe(303);
    expect(jar.cookies.size).toBe(0);
  });
});

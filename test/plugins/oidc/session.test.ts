/**
 * Login sessions: the three timeouts (on an injected clock), renewal written onto the app's own
 * response, refresh, secret rotation, chunking past 4 KB, https cookie names, and Redis storage.
 */
import { createHash, randomBytes } from 'node:crypto';
import express from 'express';
import Redis from 'ioredis';
import { oidc, setLogger, type OidcOptions, type OidcPlugin } from 'tollgate';
import { gateway, getContext } from 'tollgate/express';
import { createTestIssuer, type TestIssuer } from 'tollgate/testing';
import { Jar, jsonOf, listen, navigate, send, setCookies, signIn } from './login-support';

const SECRET = 'the-first-session-secret-0123456789';
const NEXT_SECRET = 'the-second-session-secret-0123456789';

describe('oidc sessions', () => {
  let idp: TestIssuer;
  let server: Awaited<ReturnType<typeof listen>>;
  let base: string;
  let clock = Date.now();
  const plugins: OidcPlugin[] = [];
  const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true });
  const prefix = `tollgate-test:${randomBytes(6).toString('hex')}:`;

  function serve(extra: Partial<OidcOptions> = {}, trustProxy = false): OidcPlugin {
    const plugin = oidc({
      issuer: idp.issuer,
      allowInsecureIssuer: true,
      authMethods: ['authorization_code', 'session'],
      clientId: 'web',
      clientSecret: 'web-secret',
      redirectUri: `${base}/app/callback`,
      scopes: ['openid', 'offline_access'],
      sessionSecret: SECRET,
      logoutUri: '/app/logout',
      now: () => clock,
      ...extra,
    } as OidcOptions);
    plugins.push(plugin);
    const app = express();
    if (trustProxy) app.set('trust proxy', true);
    app.use('/app', gateway(plugin));
    app.get('/app/*path', (req, res) => {
      const ctx = getContext(req);
      res.cookie('app', 'own');
      res.json({ authorization: req.headers.authorization, consumer: ctx.consumer, email: ctx.credential?.claims?.email });
    });
    server.serve(app);
    return plugin;
  }

  const warnings: string[] = [];
  const api = (jar: Jar) => send(`${base}/app/x`, { headers: { cookie: jar.header(), accept: 'application/json' } });

  beforeAll(async () => {
    idp = await createTestIssuer({ users: [{ username: 'alice', password: 'pw' }], tokenLifetime: 3600 });
    server = await listen();
    base = server.url;
    idp.addClient({ clientId: 'web', clientSecret: 'web-secret' });
    await redis.connect();
    setLogger({ debug: () => {}, info: () => {}, warn: (m) => void warnings.push(m), error: (m) => void warnings.push(m) });
  });
  afterEach(() => {
    clock = Date.now();
  });
  afterAll(async () => {
    setLogger(null);
    for (const p of plugins) await p.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    await server.close();
    await idp.close();
  });

  it('ends a session after sessionIdlingTimeout without requests, and keeps an active one alive by touching it', async () => {
    serve({ sessionIdlingTimeout: 100, sessionRollingTimeout: 0 });
    const jar = new Jar();
    await signIn(base, '/app/x', idp, jar);
    const start = clock;
    // Within a tenth of the timeout nothing is written back.
    clock = start + 5_000;
    const quiet = await api(jar.update(await api(jar)));
    expect(setCookies(quiet).map((c) => c.name)).toEqual(['app']);
    // Later it is touched: the new cookie rides on the app's own response, next to its cookie.
    clock = start + 60_000;
    const touched = await api(jar);
    expect(touched.status).toBe(200);
    expect(setCookies(touched).map((c) => c.name).sort()).toEqual(['app', 'session']);
    jar.update(touched);
    // 60 s + 99 s is past the first 100 s, but within 100 s of the touch.
    clock = start + 159_000;
    expect((await api(jar)).status).toBe(200);
    clock = start + 159_000 + 101_000;
    const idle = await api(jar);
    expect(idle.status).toBe(401);
    expect(setCookies(idle).map((c) => [c.name, c.attributes['max-age']])).toEqual([['session', '0']]);
  });

  it('ends a session at sessionAbsoluteTimeout whatever the activity, and at sessionRollingTimeout without a renewal', async () => {
    serve({ sessionIdlingTimeout: 0, sessionRollingTimeout: 0, sessionAbsoluteTimeout: 1000 });
    const jar = new Jar();
    const callback = await signIn(base, '/app/x', idp, jar);
    expect(setCookies(callback).find((c) => c.name === 'session')!.attributes['max-age']).toBe('1000');
    const start = clock;
    clock = start + 999_000;
    expect((await api(jar)).status).toBe(200);
    clock = start + 1_000_000;
    expect((await api(jar)).status).toBe(401);

    serve({ sessionIdlingTimeout: 0, sessionRollingTimeout: 200, sessionAbsoluteTimeout: 0 });
    const rolling = new Jar();
    const cb = await signIn(base, '/app/x', idp, rolling);
    // No absolute end: a cookie for the browser session.
    expect(setCookies(cb).find((c) => c.name === 'session')!.attributes).not.toHaveProperty('max-age');
    const copy = rolling.clone();
    const t0 = clock;
    clock = t0 + 150_000;
    const rolled = await api(rolling);
    expect(setCookies(rolled).some((c) => c.name === 'session')).toBe(true);
    rolling.update(rolled);
    clock = t0 + 250_000;
    // The renewed session lives on; a copy made before the renewal has expired.
    expect((await api(rolling)).status).toBe(200);
    expect((await api(copy)).status).toBe(401);
  });

  it('refreshes an expired access token once for concurrent requests, and keeps the new tokens in the session', async () => {
    serve({ sessionIdlingTimeout: 0, sessionRollingTimeout: 0 });
    const jar = new Jar();
    await signIn(base, '/app/x', idp, jar);
    const before = (await jsonOf(await api(jar))).authorization;
    const refreshes = idp.requests.refresh;
    clock += 3_600_000;
    const all = await Promise.all([api(jar), api(jar), api(jar)]);
    expect(all.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(idp.requests.refresh - refreshes).toBe(1);
    const tokens = await Promise.all(all.map(async (r) => (await jsonOf(r)).authorization));
    expect(new Set(tokens).size).toBe(1);
    expect(tokens[0]).not.toBe(before);
    // Every response carries the updated session; the next request needs no refresh.
    for (const r of all) expect(setCookies(r).some((c) => c.name === 'session')).toBe(true);
    jar.update(all[0]!);
    expect((await jsonOf(await api(jar))).authorization).toBe(tokens[0]);
    expect(idp.requests.refresh - refreshes).toBe(1);
  });

  it('ends the session when its access token expires and cannot be refreshed', async () => {
    const noIdle = { sessionIdlingTimeout: 0, sessionRollingTimeout: 0 };
    serve(noIdle);
    const jar = new Jar();
    await signIn(base, '/app/x', idp, jar);
    serve({ ...noIdle, refreshTokens: false });
    clock += 3_500_000;
    expect((await api(jar)).status).toBe(200);
    clock += 3_600_000;
    expect((await api(jar)).status).toBe(401);
    // Revoked at the issuer (a logout with logoutRevoke from another copy of the cookie): the
    // refresh is refused, the session ends, and a browser is sent to log in again.
    serve({ ...noIdle, logoutRevoke: true });
    clock = Date.now();
    const fresh = new Jar();
    await signIn(base, '/app/x', idp, fresh);
    const copy = fresh.clone();
    await navigate(`${base}/app/logout`, fresh, { method: 'POST' });
    clock += 3_600_000;
    const browser = await navigate(`${base}/app/x`, copy);
    expect(browser.status).toBe(302);
    expect(setCookies(browser).map((c) => [c.name, c.attributes['max-age']])).toEqual([
      ['session', '0'],
      ['session_authorization', '600'],
    ]);
  });

  it('opens sessions sealed with a rotated-out secret while it is listed', async () => {
    serve({ sessionSecret: SECRET });
    const jar = new Jar();
    await signIn(base, '/app/x', idp, jar);
    serve({ sessionSecret: [NEXT_SECRET, SECRET] });
    expect((await api(jar)).status).toBe(200);
    // New sessions are sealed with the first secret only.
    const fresh = new Jar();
    await signIn(base, '/app/x', idp, fresh);
    serve({ sessionSecret: NEXT_SECRET });
    expect((await api(fresh)).status).toBe(200);
    expect((await api(jar)).status).toBe(401);
  });

  it('chunks a session past 4 KB into cookies that each fit, and reads them back', async () => {
    idp.addUser({ username: 'big', password: 'pw', claims: { profile: randomBytes(3000).toString('base64') } });
    serve();
    const jar = new Jar();
    const callback = await signIn(base, '/app/x', idp, jar, { username: 'big' });
    const chunks = setCookies(callback).filter((c) => c.name.startsWith('session.'));
    expect(chunks.map((c) => c.name)).toEqual(['session.0', 'session.1', 'session.2']);
    for (const c of chunks) expect(Buffer.byteLength(c.line)).toBeLessThanOrEqual(4096);
    expect(warnings.some((w) => /a session cookie is \d+ bytes; consider sessionStorage: 'redis'/.test(w))).toBe(true);
    expect((await api(jar)).status).toBe(200);
    // A small session replacing it (a new login in this browser) clears the chunks.
    const start = await navigate(`${base}/app/x`, new Jar());
    jar.update(start);
    const small = await navigate(await idp.authorize(start.headers.get('location')!, { username: 'alice' }), jar);
    expect(setCookies(small).filter((c) => c.name.startsWith('session')).map((c) => [c.name, c.attributes['max-age'] === '0'])).toEqual([
      ['session_authorization', true],
      ['session', false],
      ['session.0', true],
      ['session.1', true],
      ['session.2', true],
    ]);
    expect([...jar.cookies.keys()]).toEqual(['session']);
  });

  it('uses __Host- names and Secure cookies over https', async () => {
    serve({}, true);
    const jar = new Jar();
    const first = await navigate(`${base}/app/x`, jar, { headers: { 'x-forwarded-proto': 'https' } });
    const [tx] = setCookies(first);
    expect(tx).toMatchObject({ name: '__Host-session_authorization', attributes: { secure: '', path: '/', samesite: 'Lax', httponly: '' } });
    const callback = await navigate(await idp.authorize(first.headers.get('location')!), jar, { headers: { 'x-forwarded-proto': 'https' } });
    expect(setCookies(callback).find((c) => c.name === '__Host-session')!.attributes).toHaveProperty('secure');
    expect((await send(`${base}/app/x`, { headers: { cookie: jar.header(), 'x-forwarded-proto': 'https' } })).status).toBe(200);
    // The same cookie over plain http is not this session.
    expect((await api(jar)).status).toBe(401);
  });

  describe("sessionStorage: 'redis'", () => {
    const withRedis = (extra: Partial<OidcOptions> = {}) => serve({ sessionStorage: 'redis', redis: { url: 'redis://127.0.0.1:6379', prefix }, ...extra });

    it('puts only a random id in the cookie, and the sealed session under a hash of it', async () => {
      withRedis();
      const jar = new Jar();
      await signIn(base, '/app/x', idp, jar);
      const id = jar.cookies.get('session')!;
      expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const key = `${prefix}oidc:session:${createHash('sha256').update(id).digest('base64url')}`;
      const stored = await redis.get(key);
      expect(stored!.split('.')).toHaveLength(5);
      expect(await redis.pttl(key)).toBeGreaterThan(800_000);
      expect((await api(jar)).status).toBe(200);
      expect((await send(`${base}/app/x`, { headers: { cookie: `session=${'A'.repeat(43)}` } })).status).toBe(401);
    });

    it('refuses a copy of the cookie once the session logged out', async () => {
      withRedis();
      const jar = new Jar();
      await signIn(base, '/app/x', idp, jar);
      const copy = jar.clone();
      expect((await api(copy)).status).toBe(200);
      const out = await navigate(`${base}/app/logout`, jar, { method: 'POST' });
      expect(out.status).toBe(303);
      expect(jar.cookies.size).toBe(0);
      expect((await api(copy)).status).toBe(401);
    });

    it('gives a rolled session a new id, and keeps the old one for 10 seconds only', async () => {
      withRedis({ sessionRollingTimeout: 200 });
      const jar = new Jar();
      await signIn(base, '/app/x', idp, jar);
      const copy = jar.clone();
      const oldKey = `${prefix}oidc:session:${createHash('sha256').update(copy.cookies.get('session')!).digest('base64url')}`;
      clock += 150_000;
      const rolled = await api(jar);
      jar.update(rolled);
      expect(jar.cookies.get('session')).not.toBe(copy.cookies.get('session'));
      expect((await api(jar)).status).toBe(200);
      // A request sent with the old cookie before the browser saw the new one still passes…
      const ttl = await redis.pttl(oldKey);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(10_000);
      expect((await api(copy)).status).toBe(200);
      // …until the old record is gone.
      await redis.del(oldKey);
      expect((await api(copy)).status).toBe(401);
    });

    it('deletes the previous session at a new login (no fixation)', async () => {
      withRedis();
      const jar = new Jar();
      await signIn(base, '/app/x', idp, jar);
      const before = jar.clone();
      const start = await navigate(`${base}/app/x`, new Jar());
      jar.update(start);
      await navigate(await idp.authorize(start.headers.get('location')!), jar);
      expect(jar.cookies.get('session')).not.toBe(before.cookies.get('session'));
      expect((await api(before)).status).toBe(401);
      expect((await api(jar)).status).toBe(200);
    });

    it('answers 500 JSON, not a hang, when Redis cannot be reached', async () => {
      serve({ sessionStorage: 'redis', redis: { url: 'redis://127.0.0.1:1', prefix, commandTimeout: 100 } });
      const res = await send(`${base}/app/x`, { headers: { cookie: `session=${'A'.repeat(43)}` } });
      expect(res.status).toBe(500);
      expect(await jsonOf(res)).toEqual({ message: 'An unexpected error occurred' });
      expect(warnings).toContain('oidc: Redis is unavailable');
    });
  });
});

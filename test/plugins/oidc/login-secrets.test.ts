/**
 * Login never leaks: every log line (debug included) and every response body of a login that
 * goes right and of each way it goes wrong — forged state, replayed code, refused consent, an
 * issuer that fails or hangs during the exchange or the refresh, a refused refresh — is searched
 * for the client secret, the session secret, the code, the tokens and the cookie values.
 */
import express from 'express';
import { oidc, setLogger, type OidcOptions, type OidcPlugin } from 'tollgate';
import { gateway } from 'tollgate/express';
import { createTestIssuer, type TestIssuer } from 'tollgate/testing';
import { Jar, listen, navigate, send } from './login-support';

const CLIENT_SECRET = 'client-secret-never-shown-0123456789';
const SESSION_SECRET = 'session-secret-never-shown-0123456789';

describe('oidc login and secrets', () => {
  let idp: TestIssuer;
  let server: Awaited<ReturnType<typeof listen>>;
  let clock = Date.now();
  const plugins: OidcPlugin[] = [];
  const logs: string[] = [];
  const bodies: string[] = [];
  const secrets = new Set<string>([CLIENT_SECRET, SESSION_SECRET]);

  function serve(extra: Partial<OidcOptions> = {}): void {
    const plugin = oidc({
      issuer: idp.issuer,
      allowInsecureIssuer: true,
      authMethods: ['authorization_code', 'session'],
      clientId: 'web',
      clientSecret: CLIENT_SECRET,
      redirectUri: `${server.url}/callback`,
      scopes: ['openid', 'offline_access'],
      sessionSecret: SESSION_SECRET,
      sessionIdlingTimeout: 0,
      sessionRollingTimeout: 0,
      logoutUri: '/logout',
      logoutRevoke: true,
      timeout: 300,
      now: () => clock,
      ...extra,
    } as OidcOptions);
    plugins.push(plugin);
    const app = express();
    app.use(gateway(plugin));
    app.get('/*path', (req, res) => {
      secrets.add(String(req.headers.authorization).slice('Bearer '.length));
      res.send('ok');
    });
    server.serve(app);
  }

  /** A navigation whose answer is recorded, and whose cookies and code are secrets from now on. */
  async function visit(url: string, jar: Jar, method = 'GET'): Promise<Response> {
    const code = new URL(url).searchParams.get('code');
    if (code) secrets.add(code);
    const res = await navigate(url, jar, { method });
    bodies.push(await res.clone().text());
    for (const value of jar.cookies.values()) secrets.add(value);
    return res;
  }

  async function start(jar: Jar): Promise<string> {
    const first = await visit(`${server.url}/page`, jar);
    return idp.authorize(first.headers.get('location')!);
  }

  beforeAll(async () => {
    idp = await createTestIssuer({ users: [{ username: 'alice', password: 'pw' }], tokenLifetime: 3600 });
    idp.addClient({ clientId: 'web', clientSecret: CLIENT_SECRET });
    server = await listen();
    const record = (level: string) => (message: string, fields?: Record<string, unknown>) => void logs.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
    setLogger({ debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') });
  });
  afterAll(async () => {
    setLogger(null);
    for (const p of plugins) await p.close();
    await server.close();
    await idp.close();
  });

  it('keeps every secret, code, token and cookie value out of logs and response bodies', async () => {
    serve();
    // A login that works, then the same callback again (a replayed code) and a forged state.
    const jar = new Jar();
    const callback = await start(jar);
    const tx = jar.clone();
    const forged = new URL(callback);
    forged.searchParams.set('state', 'x'.repeat(43));
    expect((await visit(forged.href, jar.clone())).status).toBe(400);
    expect((await visit(callback, jar)).status).toBe(302);
    expect((await visit(callback, tx)).status).toBe(400);
    expect((await visit(`${server.url}/page`, jar)).status).toBe(200);
    // The user refuses consent.
    const deny = new Jar();
    const first = await visit(`${server.url}/page`, deny);
    expect((await visit(await idp.authorize(first.headers.get('location')!, { consent: false }), deny)).status).toBe(401);
    // The issuer fails, then hangs, during the code exchange.
    for (const outage of ['error', 'hang'] as const) {
      const j = new Jar();
      const cb = await start(j);
      idp.setOutage(outage);
      const res = await visit(cb, j);
      idp.setOutage('none');
      expect(res.status).toBeGreaterThanOrEqual(502);
    }
    // The issuer fails during a refresh; then the refresh token is revoked (logout) and refused.
    const copy = jar.clone();
    clock += 2 * 3_600_000;
    idp.setOutage('error');
    expect((await send(`${server.url}/page`, { headers: { cookie: jar.header() } })).status).toBe(502);
    idp.setOutage('none');
    clock = Date.now();
    await visit(`${server.url}/logout`, jar, 'POST');
    clock += 2 * 3_600_000;
    expect((await visit(`${server.url}/page`, copy)).status).toBe(302);

    expect(logs.length).toBeGreaterThan(5);
    expect(secrets.size).toBeGreaterThan(8);
    for (const s of secrets) {
      expect(s.length).toBeGreaterThan(10);
      for (const line of logs) expect(line).not.toContain(s);
      for (const body of bodies) expect(body).not.toContain(s);
    }
  });
});

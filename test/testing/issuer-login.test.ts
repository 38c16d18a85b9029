/** createTestIssuer's end-user login: the page, the code grant's checks, refresh, revocation, logout. */
import { createHash } from 'node:crypto';
import { decodeJwt } from 'jose';
import { createTestIssuer, type TestIssuer } from 'tollgate/testing';

const CALLBACK = 'http://127.0.0.1:9/callback';
const verifier = 'a-pkce-code-verifier-that-is-long-enough-0123456789';
const challenge = createHash('sha256').update(verifier).digest('base64url');

describe('createTestIssuer login', () => {
  let idp: TestIssuer;
  beforeAll(async () => {
    idp = await createTestIssuer({
      clients: [{ clientId: 'web', clientSecret: 'web-secret', redirectUris: [CALLBACK], logoutUrls: ['http://127.0.0.1:9/bye'] }],
      users: [{ username: 'alice', password: 'pw', claims: { email: 'alice@example.com' } }],
      tokenLifetime: 120,
    });
  });
  afterAll(() => idp.close());

  const authorizeUrl = (extra: Record<string, string> = {}) =>
    `${idp.authorizationEndpoint}?${new URLSearchParams({ client_id: 'web', response_type: 'code', redirect_uri: CALLBACK, scope: 'openid offline_access', state: 's1', nonce: 'n1', code_challenge: challenge, code_challenge_method: 'S256', ...extra })}`;
  const token = async (form: Record<string, string>) => {
    const res = await fetch(idp.tokenEndpoint, { method: 'POST', body: new URLSearchParams({ client_id: 'web', client_secret: 'web-secret', ...form }) });
    return { status: res.status, body: (await res.json()) as Record<string, string> };
  };
  const codeOf = async (extra?: Record<string, string>) => new URL(await idp.authorize(authorizeUrl(extra))).searchParams.get('code')!;

  it('shows a login page and sends the browser back with a code, the state and iss', async () => {
    const page = await fetch(authorizeUrl());
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toMatch(/<input name="username"[\s\S]*type="password"[\s\S]*value="allow"[\s\S]*value="deny"/);
    const back = new URL(await idp.authorize(authorizeUrl()));
    expect(`${back.origin}${back.pathname}`).toBe(CALLBACK);
    expect([back.searchParams.get('state'), back.searchParams.get('iss')]).toEqual(['s1', idp.issuer]);
    const denied = new URL(await idp.authorize(authorizeUrl(), { consent: false }));
    expect(denied.searchParams.get('error')).toBe('access_denied');
    await expect(idp.authorize(authorizeUrl(), { password: 'wrong' })).rejects.toThrow(/answered 401/);
    expect((await fetch(authorizeUrl({ redirect_uri: 'http://127.0.0.1:9/elsewhere' }))).status).toBe(400);
  });

  it('exchanges a code once, only with its PKCE verifier, for Auth0-shaped tokens', async () => {
    const code = await codeOf({ audience: 'https://api' });
    expect((await token({ grant_type: 'authorization_code', code, redirect_uri: CALLBACK, code_verifier: 'wrong' })).status).toBe(403);
    const code2 = await codeOf({ audience: 'https://api' });
    const ok = await token({ grant_type: 'authorization_code', code: code2, redirect_uri: CALLBACK, code_verifier: verifier });
    expect(ok.status).toBe(200);
    expect(decodeJwt(ok.body.id_token!)).toMatchObject({ iss: idp.issuer, sub: 'auth0|alice', aud: 'web', nonce: 'n1', email: 'alice@example.com' });
    expect(decodeJwt(ok.body.access_token!)).toMatchObject({ aud: ['https://api', `${idp.issuer}userinfo`], azp: 'web', scope: 'openid offline_access' });
    expect(ok.body.refresh_token).toBeDefined();
    const replay = await token({ grant_type: 'authorization_code', code: code2, redirect_uri: CALLBACK, code_verifier: verifier });
    expect([replay.status, replay.body.error]).toEqual([403, 'invalid_grant']);

    const refreshes = idp.requests.refresh;
    const refreshed = await token({ grant_type: 'refresh_token', refresh_token: ok.body.refresh_token! });
    expect([refreshed.status, idp.requests.refresh - refreshes]).toEqual([200, 1]);
    expect(refreshed.body.access_token).not.toBe(ok.body.access_token);
    await fetch(`${idp.issuer}oauth/revoke`, { method: 'POST', body: new URLSearchParams({ client_id: 'web', client_secret: 'web-secret', token: ok.body.refresh_token! }) });
    expect((await token({ grant_type: 'refresh_token', refresh_token: ok.body.refresh_token! })).status).toBe(403);
    expect(idp.requests.revocation).toBe(1);
  });

  it('ends sessions at /oidc/logout and /v2/logout, back to allowed URLs only', async () => {
    const back = await fetch(`${idp.endSessionEndpoint}?client_id=web&post_logout_redirect_uri=${encodeURIComponent('http://127.0.0.1:9/bye')}&state=x`, { redirect: 'manual' });
    expect([back.status, back.headers.get('location')]).toEqual([302, 'http://127.0.0.1:9/bye?state=x']);
    const auth0 = await fetch(`${idp.issuer}v2/logout?client_id=web&returnTo=${encodeURIComponent('http://127.0.0.1:9/bye')}`, { redirect: 'manual' });
    expect(auth0.headers.get('location')).toBe('http://127.0.0.1:9/bye');
    expect((await fetch(`${idp.endSessionEndpoint}?client_id=web&post_logout_redirect_uri=${encodeURIComponent('https://evil.example/')}`)).status).toBe(400);
    expect(idp.requests.endSession).toBe(3);
  });
});

import { createPublicKey } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, jwtVerify, createLocalJWKSet } from 'jose';
import { createTestIssuer, type TestIssuer } from 'tollgate/testing';

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const post = (url: string, body: string, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } });
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

describe('createTestIssuer', () => {
  let idp: TestIssuer;
  beforeEach(async () => {
    idp = await createTestIssuer({ clients: [{ clientId: 'm2m', clientSecret: 'secret-1', scope: 'read:orders write:orders', audience: 'https://api.example' }] });
  });
  afterEach(() => idp.close());

  it('serves Auth0-shaped discovery with a trailing-slash issuer', async () => {
    const doc = (await (await fetch(idp.discoveryUrl)).json()) as Record<string, unknown>;
    expect(idp.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(doc.issuer).toBe(idp.issuer);
    expect(doc.token_endpoint).toBe(`${idp.issuer}oauth/token`);
    expect(doc.jwks_uri).toBe(idp.jwksUri);
    expect(doc.introspection_endpoint).toBe(idp.introspectionEndpoint);
    expect(idp.requests.discovery).toBe(1);
  });

  it('issues client-credentials tokens with audience and Auth0 M2M claims (client_secret_post)', async () => {
    const res = await post(idp.tokenEndpoint, form({ grant_type: 'client_credentials', client_id: 'm2m', client_secret: 'secret-1', audience: 'https://api.example' }));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { access_token: string; token_type: string; expires_in: number; scope: string };
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 86400, scope: 'read:orders write:orders' });
    const jwks = createLocalJWKSet(idp.jwks() as never);
    const { payload, protectedHeader } = await jwtVerify(body.access_token, jwks, { issuer: idp.issuer, audience: 'https://api.example' });
    expect(protectedHeader).toMatchObject({ alg: 'RS256', kid: idp.currentKid });
    expect(payload).toMatchObject({ sub: 'm2m@clients', azp: 'm2m', gty: 'client-credentials', scope: 'read:orders write:orders' });
    expect(payload.exp! - payload.iat!).toBe(86400);
    expect(idp.requests.token).toBe(1);
  });

  it('accepts client_secret_basic and answers 401 access_denied to a wrong secret', async () => {
    const ok = await post(idp.tokenEndpoint, form({ grant_type: 'client_credentials', audience: 'https://api.example' }), { authorization: basic('m2m', 'secret-1') });
    expect(ok.status).toBe(200);
    const bad = await post(idp.tokenEndpoint, form({ grant_type: 'client_credentials', audience: 'https://api.example' }), { authorization: basic('m2m', 'nope') });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toEqual({ error: 'access_denied', error_description: 'Unauthorized' });
  });

  it('refuses a missing audience, an audience without a grant and another grant type', async () => {
    const creds = { client_id: 'm2m', client_secret: 'secret-1' };
    const none = await post(idp.tokenEndpoint, form({ grant_type: 'client_credentials', ...creds }));
    expect(none.status).toBe(403);
    const other = await post(idp.tokenEndpoint, form({ grant_type: 'client_credentials', audience: 'https://other', ...creds }));
    expect(other.status).toBe(403);
    expect(((await other.json()) as { error: string }).error).toBe('access_denied');
    const grant = await post(idp.tokenEndpoint, form({ grant_type: 'password', audience: 'https://api.example', ...creds }));
    expect(grant.status).toBe(400);
  });

  it('mints tokens with defaults, leaving out claims set to undefined', async () => {
    const token = await idp.sign({ sub: 'user-1', exp: undefined }, { header: { typ: 'at+jwt' } });
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({ iss: idp.issuer, sub: 'user-1' });
    expect(claims).not.toHaveProperty('exp');
    expect(decodeProtectedHeader(token).typ).toBe('at+jwt');
    const m2m = decodeJwt(await idp.clientToken('m2m', { audience: 'https://api.example' }));
    expect(m2m).toMatchObject({ azp: 'm2m', aud: 'https://api.example', gty: 'client-credentials' });
  });

  it('introspects its opaque tokens and JWTs for an authenticated caller only', async () => {
    const opaque = idp.opaqueToken({ sub: 'svc', scope: 'read', client_id: 'm2m' });
    const auth = { authorization: basic('m2m', 'secret-1') };
    const active = (await (await post(idp.introspectionEndpoint, form({ token: opaque }), auth)).json()) as Record<string, unknown>;
    expect(active).toMatchObject({ active: true, sub: 'svc', scope: 'read', client_id: 'm2m', iss: idp.issuer });
    const jwt = await idp.sign({ sub: 'x' });
    expect(await (await post(idp.introspectionEndpoint, form({ token: jwt }), auth)).json()).toMatchObject({ active: true, sub: 'x' });
    expect(await (await post(idp.introspectionEndpoint, form({ token: 'unknown' }), auth)).json()).toEqual({ active: false });
    const expired = idp.opaqueToken({ exp: Math.floor(Date.now() / 1000) - 10 });
    expect(await (await post(idp.introspectionEndpoint, form({ token: expired }), auth)).json()).toEqual({ active: false });
    expect((await post(idp.introspectionEndpoint, form({ token: opaque }))).status).toBe(401);
    expect(idp.requests.introspection).toBe(5);
  });

  it('rotates keys: the new key signs, the previous stays published unless dropped', async () => {
    const first = idp.currentKid;
    const second = await idp.rotateKeys();
    expect(second).not.toBe(first);
    expect(idp.jwks().keys.map((k) => (k as { kid: string }).kid)).toEqual([second, first]);
    expect(decodeProtectedHeader(await idp.sign({})).kid).toBe(second);
    const third = await idp.rotateKeys({ dropPrevious: true });
    const published = (await (await fetch(idp.jwksUri)).json()) as { keys: { kid: string; d?: string }[] };
    expect(published.keys.map((k) => k.kid)).toEqual([third]);
    expect(published.keys[0]).not.toHaveProperty('d');
    expect(createPublicKey({ key: published.keys[0] as never, format: 'jwk' }).type).toBe('public');
  });

  it('fails on demand (503 or a silent socket) and counts every request', async () => {
    idp.setOutage('error');
    expect((await fetch(idp.jwksUri)).status).toBe(503);
    idp.setOutage('hang');
    await expect(fetch(idp.jwksUri, { signal: AbortSignal.timeout(200) })).rejects.toThrow();
    idp.setOutage('none');
    expect((await fetch(idp.jwksUri)).status).toBe(200);
    expect(idp.requests.jwks).toBe(3);
    idp.resetCounters();
    expect(idp.requests).toEqual({ discovery: 0, jwks: 0, token: 0, introspection: 0, authorization: 0, refresh: 0, revocation: 0, endSession: 0 });
  });
});

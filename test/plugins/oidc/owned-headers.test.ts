/**
 * The headers the oidc plugin sets for the upstream are trusted there because the gateway set
 * them: a client's own copies never get through, whichever way the request authenticated.
 */
import express from 'express';
import request from 'supertest';
import { oidc, upstreamProxy, type OidcOptions } from 'tollgate';
import { gateway } from 'tollgate/express';
import { createEchoUpstream, createTestIssuer, type EchoResponse, type EchoUpstream, type TestIssuer } from 'tollgate/testing';

const API = 'https://api.example';
const SPOOFED = {
  'X-Credential-Scope': 'admin',
  'X-Credential-Client-Id': 'trusted-client',
  'X-Credential-Sub': 'root',
  'X-Credential-Tenant': 'other-tenant',
  'X-Credential-Anything': 'spoofed',
  'X-User': 'root',
};

describe('oidc owned headers', () => {
  let idp: TestIssuer;
  let upstream: EchoUpstream;
  beforeAll(async () => {
    idp = await createTestIssuer({ clients: [{ clientId: 'gateway', clientSecret: 'gw-secret' }, { clientId: 'app', clientSecret: 'app-secret', audience: API }] });
    upstream = await createEchoUpstream();
  });
  afterAll(async () => {
    await Promise.all([idp.close(), upstream.close()]);
  });

  function app(options: Partial<OidcOptions> = {}) {
    const a = express();
    a.use(
      '/api',
      gateway(
        oidc({
          issuer: idp.issuer,
          allowInsecureIssuer: true,
          audience: API,
          authMethods: ['bearer', 'client_credentials', 'introspection'],
          tokenPostArgs: { audience: API },
          introspection: { clientId: 'gateway', clientSecret: 'gw-secret', customClaimsForward: ['tenant'] },
          upstreamHeadersClaims: ['sub'],
          upstreamHeadersNames: ['X-User'],
          ...options,
        }),
        upstreamProxy({ url: upstream.url }),
      ),
    );
    return a;
  }
  const upstreamSaw = (res: request.Response) => (res.body as EchoResponse).headers;
  const ours = (headers: Record<string, string | string[] | undefined>) =>
    Object.fromEntries(Object.entries(headers).filter(([name]) => name.startsWith('x-credential-') || name === 'x-user'));

  it('removes every X-Credential-* the client sent from a request authenticated by a JWT', async () => {
    const token = await idp.sign({ aud: API, sub: 'alice' });
    const res = await request(app()).get('/api/get').set('authorization', `Bearer ${token}`).set(SPOOFED);
    expect(res.status).toBe(200);
    expect(ours(upstreamSaw(res))).toEqual({ 'x-user': 'alice' });
  });

  it('removes every X-Credential-* the client sent from a request authenticated by client credentials', async () => {
    const res = await request(app()).get('/api/get').auth('app', 'app-secret').set(SPOOFED);
    expect(res.status).toBe(200);
    expect(ours(upstreamSaw(res))).toEqual({ 'x-user': 'app@clients' });
  });

  it('replaces them with what introspection said for an introspected token, and drops the rest', async () => {
    const token = idp.opaqueToken({ aud: API, sub: 'bob', client_id: 'app', tenant: 'acme' });
    const res = await request(app()).get('/api/get').set('authorization', `Bearer ${token}`).set(SPOOFED);
    expect(res.status).toBe(200);
    const seen = ours(upstreamSaw(res));
    expect(seen).toMatchObject({ 'x-credential-sub': 'bob', 'x-credential-client-id': 'app', 'x-credential-tenant': 'acme', 'x-user': 'bob' });
    expect(seen['x-credential-scope']).toBeUndefined();
    expect(seen['x-credential-anything']).toBeUndefined();
  });

  it('removes them with bearer alone too, where no method sets them', async () => {
    const token = await idp.sign({ aud: API, sub: 'alice' });
    const res = await request(app({ authMethods: ['bearer'], introspection: undefined })).get('/api/get').set('authorization', `Bearer ${token}`).set(SPOOFED);
    expect(res.status).toBe(200);
    expect(ours(upstreamSaw(res))).toEqual({ 'x-user': 'alice' });
  });

  it('removes them from a CORS preflight let through unauthenticated (runOnPreflight: false)', async () => {
    const res = await request(app({ runOnPreflight: false }))
      .options('/api/get')
      .set('access-control-request-method', 'GET')
      .set('origin', 'https://web.example')
      .set(SPOOFED);
    expect(res.status).toBe(200);
    expect(ours(upstreamSaw(res))).toEqual({});
  });

  it("keeps its headers when the client's Connection names them, even holding the value the client sent", async () => {
    const token = await idp.sign({ aud: API, sub: 'alice' });
    const res = await request(app())
      .get('/api/get')
      .set('authorization', `Bearer ${token}`)
      .set('connection', 'close, X-User, X-Credential-Scope')
      .set('x-user', 'alice');
    expect(res.status).toBe(200);
    expect(ours(upstreamSaw(res))).toEqual({ 'x-user': 'alice' });
  });

  it('removes the underscored spellings of its headers too, which CGI-style servers merge with them', async () => {
    const token = await idp.sign({ aud: API, sub: 'alice' });
    const res = await request(app())
      .get('/api/get')
      .set('authorization', `Bearer ${token}`)
      .set({ x_user: 'root', X_Credential_Scope: 'admin', 'x-credential_client-id': 'trusted-client', X_CREDENTIAL_SUB: 'root' });
    expect(res.status).toBe(200);
    const seen = upstreamSaw(res);
    expect(Object.keys(seen).filter((name) => /^x[-_](user|credential)/.test(name))).toEqual(['x-user']);
    expect(seen['x-user']).toBe('alice');
  });
});

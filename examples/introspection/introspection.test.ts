/**
 * Kong Identity's flow end to end on loopback: a machine client gets an opaque token from an
 * Auth0-shaped test server, the gateway of ./gateway.ts introspects it, and an httpbin-like echo
 * upstream shows the X-Credential-* headers it received.
 */
import request from 'supertest';
import { createEchoUpstream, createTestIssuer, type EchoResponse, type EchoUpstream, type TestIssuer } from 'tollgate/testing';
import { introspectionApp } from './gateway';

describe('introspection example', () => {
  let server: TestIssuer;
  let upstream: EchoUpstream;
  let app: ReturnType<typeof introspectionApp>;

  beforeAll(async () => {
    server = await createTestIssuer({
      defaultAudience: 'https://reports.example.com',
      clients: [
        // The gateway's own client, used only to introspect.
        { clientId: 'gateway', clientSecret: 'gateway-secret' },
        // The caller: a machine client whose tokens are opaque, with a tenant claim.
        { clientId: 'reporting', clientSecret: 'reporting-secret', scope: 'read:reports', tokenFormat: 'opaque', claims: { tenant: 'acme' } },
      ],
    });
    upstream = await createEchoUpstream();
    app = introspectionApp({ issuer: server.issuer, audience: 'https://reports.example.com', gatewayClientId: 'gateway', gatewayClientSecret: 'gateway-secret', upstreamUrl: upstream.url, allowInsecureIssuer: true });
  });
  afterAll(async () => {
    await Promise.all([server.close(), upstream.close()]);
  });
  beforeEach(() => server.resetCounters());

  /** What the machine client does first: client credentials at the token endpoint. */
  async function clientToken(): Promise<string> {
    const res = await fetch(server.tokenEndpoint, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'reporting', client_secret: 'reporting-secret' }),
    });
    const body = (await res.json()) as { access_token: string };
    return body.access_token;
  }

  it('passes an active opaque token and forwards what introspection said as X-Credential-* headers', async () => {
    const token = await clientToken();
    expect(token).not.toContain('.'); // opaque: nothing the gateway could verify on its own
    const res = await request(app).get('/api/get').set('Authorization', `Bearer ${token}`).set('X-Credential-Tenant', 'spoofed');
    expect(res.status).toBe(200);
    const headers = (res.body as EchoResponse).headers;
    expect(headers).toMatchObject({
      'x-credential-client-id': 'reporting',
      'x-credential-scope': 'read:reports',
      'x-credential-sub': 'reporting@clients',
      'x-credential-aud': 'https://reports.example.com',
      'x-credential-iss': server.issuer,
      'x-credential-token-type': 'Bearer',
      'x-credential-tenant': 'acme',
    });
    expect(headers['x-credential-exp']).toMatch(/^\d+$/);
  });

  it('introspects a token once, then answers from the cache', async () => {
    const token = await clientToken();
    for (let i = 0; i < 5; i++) {
      const res = await request(app).get('/api/get').set('Authorization', `Bearer ${token}`);
      expect(res.status).toBe(200);
    }
    expect(server.requests.introspection).toBe(1);
  });

  it('answers 401 invalid_token to an expired or unknown token, and caches that answer too', async () => {
    const upstreamBefore = upstream.requests;
    const expired = server.opaqueToken({ sub: 'reporting@clients', exp: Math.floor(Date.now() / 1000) - 60 });
    for (const token of [expired, 'not-a-token-the-server-issued', 'not-a-token-the-server-issued']) {
      const res = await request(app).get('/api/get').set('Authorization', `Bearer ${token}`);
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ message: 'Unauthorized' });
      expect(res.headers['www-authenticate']).toMatch(/error="invalid_token"$/);
    }
    // One call per distinct token: the repeated unknown token was answered from the cache.
    expect(server.requests.introspection).toBe(2);
    expect(upstream.requests).toBe(upstreamBefore);
  });
});

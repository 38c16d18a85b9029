import express from 'express';
import request from 'supertest';
import { oidc, type OidcOptions } from 'tollgate';
import { gateway } from 'tollgate/express';
import { createTestContext, createTestIssuer, runPlugin, type TestIssuer } from 'tollgate/testing';

const API = 'https://api.example';

describe('oidc authorization and upstream headers', () => {
  let idp: TestIssuer;
  beforeAll(async () => {
    idp = await createTestIssuer();
  });
  afterAll(() => idp.close());

  const run = async (options: Partial<OidcOptions>, claims: Record<string, unknown>, headers: Record<string, string> = {}) => {
    const plugin = oidc({ issuer: idp.issuer, allowInsecureIssuer: true, audience: API, ...options });
    const token = await idp.sign({ aud: API, sub: 'user-1', ...claims });
    return runPlugin(plugin, createTestContext({ headers: { ...headers, authorization: `Bearer ${token}` } }));
  };
  const realm = () => `Bearer realm="${new URL(idp.issuer).host}"`;

  describe('scopesRequired (Kong: any entry, every scope within it)', () => {
    const scopesRequired = ['read:orders write:orders', 'admin'];
    it.each([
      ['both scopes of the first entry', 200, 'read:orders write:orders'],
      ['the second entry alone', 200, 'admin'],
      ['extra scopes besides an entry', 200, 'profile admin email'],
      ['only half of the first entry', 403, 'read:orders'],
      ['no scope claim', 403, undefined],
    ])('with %s answers %i', async (_name, status, scope) => {
      const result = await run({ scopesRequired }, { scope });
      expect(result.status).toBe(status);
      if (status === 403) {
        expect(result.body).toEqual({ message: 'Forbidden' });
        expect(result.headers['www-authenticate']).toBe(`${realm()}, error="insufficient_scope", scope="read:orders write:orders"`);
      }
    });

    it('reads scopes from another claim, as an array (Auth0 RBAC permissions)', async () => {
      expect((await run({ scopesRequired: ['read:orders'], scopesClaim: 'permissions' }, { permissions: ['read:orders'] })).status).toBe(200);
      expect((await run({ scopesRequired: ['read:orders'], scopesClaim: 'permissions' }, { scope: 'read:orders' })).status).toBe(403);
    });
  });

  describe('rolesRequired and audienceRequired', () => {
    it('checks roles at a nested claim path', async () => {
      const options = { rolesRequired: ['admin', 'editor auditor'], rolesClaim: ['realm_access', 'roles'] };
      expect((await run(options, { realm_access: { roles: ['editor', 'auditor'] } })).status).toBe(200);
      const denied = await run(options, { realm_access: { roles: ['editor'] } });
      expect(denied.status).toBe(403);
      expect(denied.headers['www-authenticate']).toBe(`${realm()}, error="insufficient_scope"`);
    });

    it('checks a namespaced (Auth0 Action) roles claim by its full name', async () => {
      const options = { rolesRequired: ['ops'], rolesClaim: 'https://example.com/roles' };
      expect((await run(options, { 'https://example.com/roles': ['ops'] })).status).toBe(200);
    });

    it('answers 403 when the token lacks a required audience, but 401 when it is not for this API at all', async () => {
      expect((await run({ audienceRequired: ['https://billing'] }, { aud: [API, 'https://billing'] })).status).toBe(200);
      expect((await run({ audienceRequired: ['https://billing'] }, { aud: API })).status).toBe(403);
      const notOurs = await run({ audience: 'https://billing' }, { aud: API });
      expect(notOurs.status).toBe(401);
      expect(notOurs.headers['www-authenticate']).toBe(`${realm()}, error="invalid_token"`);
    });
  });

  describe('consumer and credential', () => {
    it('names the consumer from the first consumerClaim present', async () => {
      expect((await run({}, { azp: 'app-1', client_id: 'c', sub: 's' })).ctx.consumer).toEqual({ id: 'app-1' });
      expect((await run({}, { client_id: 'rfc9068-client', sub: 's' })).ctx.consumer).toEqual({ id: 'rfc9068-client' });
      expect((await run({ consumerClaim: 'tenant' }, { tenant: 'acme', azp: 'x' })).ctx.consumer).toEqual({ id: 'acme' });
      expect((await run({ consumerClaim: 'tenant' }, { azp: 'x' })).ctx.consumer).toBeUndefined();
    });

    it('identifies the credential by credentialClaim and never holds the raw token', async () => {
      const result = await run({ credentialClaim: 'jti' }, { jti: 'token-id-1', scope: 'a b' });
      expect(result.ctx.credential).toMatchObject({ id: 'token-id-1', type: 'bearer', scopes: ['a', 'b'] });
      expect(result.ctx.credential?.claims).toMatchObject({ jti: 'token-id-1', sub: 'user-1' });
      expect(JSON.stringify(result.ctx.credential)).not.toMatch(/eyJ/);
    });
  });

  describe('upstreamHeadersClaims', () => {
    const options = { upstreamHeadersClaims: ['sub', 'org', 'groups', 'meta', 'name'], upstreamHeadersNames: ['X-User', 'X-Org', 'X-Groups', 'X-Meta', 'X-Name'] };

    it('forwards claims as headers, replacing what the client sent, and removes headers for missing claims', async () => {
      const result = await run(options, { org: 42, groups: ['a', 'b'], meta: { tier: 'gold' }, name: 'José 山田' }, { 'x-user': 'spoofed', 'x-org': 'spoofed', 'x-absent': 'kept' });
      const h = result.ctx.request.headers;
      expect(h['x-user']).toBe('user-1');
      expect(h['x-org']).toBe('42');
      expect(h['x-groups']).toBe('a,b');
      expect(h['x-meta']).toBe('{"tier":"gold"}');
      expect(h['x-name']).toBe(`Jos${encodeURIComponent('é')} ${encodeURIComponent('山田')}`);
      expect(h['x-absent']).toBe('kept');

      const missing = await run(options, { sub: undefined }, { 'x-user': 'spoofed', 'x-org': 'spoofed' });
      expect(missing.ctx.request.headers['x-user']).toBeUndefined();
      expect(missing.ctx.request.headers['x-org']).toBeUndefined();
    });

    it('drops a claim that would inject a header, and the app never sees the injected one', async () => {
      const app = express();
      app.use(gateway(oidc({ issuer: idp.issuer, allowInsecureIssuer: true, audience: API, ...options })));
      app.get('/', (req, res) => res.json({ user: req.headers['x-user'] ?? null, injected: req.headers['x-admin'] ?? null, org: req.headers['x-org'] ?? null }));
      const token = await idp.sign({ aud: API, sub: 'evil\r\nX-Admin: true', org: 'tab\tis fine' });
      const res = await request(app).get('/').set('authorization', `Bearer ${token}`).set('x-user', 'spoofed');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ user: null, injected: null, org: 'tab\tis fine' });
    });
  });
});

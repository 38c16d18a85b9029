/**
 * proxyCache behind the real oidc plugin, with its default `consumerClaim` (`azp` first): users of
 * one application share a consumer, and must still never share cache entries.
 */
import express from 'express';
import request from 'supertest';
import { oidc, proxyCache, type OidcOptions } from 'tollgate';
import { gateway, getContext } from 'tollgate/express';
import { createTestIssuer, type TestIssuer } from 'tollgate/testing';

const API = 'https://api.example';

describe('proxyCache behind oidc', () => {
  let idp: TestIssuer;
  beforeAll(async () => {
    idp = await createTestIssuer({ clients: [{ clientId: 'gateway', clientSecret: 'gw-secret' }] });
  });
  afterAll(() => idp.close());

  /** A route whose answer depends on who asks, behind oidc and a cache with every default. */
  function app(options: Partial<OidcOptions> = {}) {
    const a = express();
    a.use(gateway(oidc({ issuer: idp.issuer, allowInsecureIssuer: true, audience: API, ...options }), proxyCache()));
    let n = 0;
    a.get('/me', (req, res) => {
      const ctx = getContext(req);
      res.json({ n: ++n, consumer: ctx.consumer?.id ?? null, sub: ctx.credential?.claims?.sub ?? null });
    });
    return a;
  }
  const get = (a: express.Express, token: string) => request(a).get('/me').set('authorization', `Bearer ${token}`);

  it("never serves one user's entry to another user of the same application", async () => {
    const a = app();
    const alice = await idp.sign({ aud: API, azp: 'spa', sub: 'alice' });
    const bob = await idp.sign({ aud: API, azp: 'spa', sub: 'bob' });
    const first = await get(a, alice);
    expect(first.body).toEqual({ n: 1, consumer: 'spa', sub: 'alice' });
    const second = await get(a, bob);
    expect(second.headers['x-cache-status']).toBe('Miss');
    expect(second.body).toEqual({ n: 2, consumer: 'spa', sub: 'bob' });
    expect(second.headers['x-cache-key']).not.toBe(first.headers['x-cache-key']);
    // Each user's own entry still answers that user, whichever token of theirs they send.
    const again = await get(a, await idp.sign({ aud: API, azp: 'spa', sub: 'alice', jti: 'another-token' }));
    expect(again.headers['x-cache-status']).toBe('Hit');
    expect(again.body).toEqual({ n: 1, consumer: 'spa', sub: 'alice' });
  });

  it("keeps the application's own client-credentials token apart from its users' tokens", async () => {
    const a = app();
    const user = await get(a, await idp.sign({ aud: API, azp: 'spa', sub: 'alice' }));
    // Auth0's machine-to-machine token: sub is the client ("<client id>@clients").
    const machine = await get(a, await idp.sign({ aud: API, azp: 'spa', sub: 'spa@clients', gty: 'client-credentials' }));
    expect(machine.headers['x-cache-status']).toBe('Miss');
    expect(machine.body.sub).toBe('spa@clients');
    expect(machine.headers['x-cache-key']).not.toBe(user.headers['x-cache-key']);
  });

  it('keys on the subject, not on credentialClaim, so a shared credential claim cannot merge users', async () => {
    const a = app({ credentialClaim: 'azp' });
    await get(a, await idp.sign({ aud: API, azp: 'spa', sub: 'alice' }));
    const bob = await get(a, await idp.sign({ aud: API, azp: 'spa', sub: 'bob' }));
    expect(bob.body.sub).toBe('bob');
  });

  it('keys introspected tokens on their subject, and a token without one on the token itself', async () => {
    const a = app({ authMethods: ['introspection'], introspection: { clientId: 'gateway', clientSecret: 'gw-secret' } });
    const alice = await get(a, idp.opaqueToken({ aud: API, client_id: 'spa', sub: 'alice' }));
    expect(alice.body).toMatchObject({ consumer: 'spa', sub: 'alice' });
    const bob = await get(a, idp.opaqueToken({ aud: API, client_id: 'spa', sub: 'bob' }));
    expect(bob.body).toMatchObject({ consumer: 'spa', sub: 'bob' });
    expect((await get(a, idp.opaqueToken({ aud: API, client_id: 'spa', sub: 'alice' }))).headers['x-cache-status']).toBe('Hit');
    // Nothing says whose these are: each token is its own.
    const anonymous1 = await get(a, idp.opaqueToken({ aud: API, client_id: 'spa' }));
    const anonymous2 = await get(a, idp.opaqueToken({ aud: API, client_id: 'spa' }));
    expect(anonymous2.headers['x-cache-status']).toBe('Miss');
    expect(anonymous2.headers['x-cache-key']).not.toBe(anonymous1.headers['x-cache-key']);
  });
});

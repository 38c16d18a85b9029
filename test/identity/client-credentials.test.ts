import { IdentityProviderError, UnauthorizedError } from 'tollgate';
import { createTestIssuer, type TestIssuer } from 'tollgate/testing';
import { ClientCredentialsTokens } from '../../src/identity/client-credentials';
import { discoverMetadata } from '../../src/identity/discovery';
import { blackHole } from './net';

const AUD = { audience: 'https://api.example' };

describe('ClientCredentialsTokens', () => {
  let idp: TestIssuer;
  let tokens: ClientCredentialsTokens;
  beforeEach(async () => {
    idp = await createTestIssuer({ clients: [{ clientId: 'app', clientSecret: 'right' }], tokenLifetime: 3600 });
    tokens = new ClientCredentialsTokens({ metadata: discoverMetadata(idp.issuer, { allowInsecure: true }), allowInsecure: true });
  });
  afterEach(() => idp.close());

  it('sends exactly one token request for 25 concurrent first requests', async () => {
    const results = await Promise.all(Array.from({ length: 25 }, () => tokens.get({ clientId: 'app', clientSecret: 'right', args: AUD })));
    expect(new Set(results.map((t) => t.accessToken)).size).toBe(1);
    expect(idp.requests.token).toBe(1);
    expect(tokens.requests).toBe(1);
  });

  it('sends no token request for 100 requests once the token is cached', async () => {
    await tokens.get({ clientId: 'app', clientSecret: 'right', args: AUD });
    idp.resetCounters();
    for (let i = 0; i < 100; i++) await tokens.get({ clientId: 'app', clientSecret: 'right', args: AUD });
    expect(idp.requests.token).toBe(0);
  });

  it('keys the cache by arguments and secret: another audience or secret is another token', async () => {
    await tokens.get({ clientId: 'app', clientSecret: 'right', args: AUD });
    await tokens.get({ clientId: 'app', clientSecret: 'right', args: { audience: 'https://other' } });
    await expect(tokens.get({ clientId: 'app', clientSecret: 'wrong', args: AUD })).rejects.toBeInstanceOf(UnauthorizedError);
    expect(idp.requests.token).toBe(3);
  });

  it('answers a rejected secret with 401, never as a success, and does not hammer the issuer', async () => {
    const attempts = await Promise.allSettled(Array.from({ length: 20 }, () => tokens.get({ clientId: 'app', clientSecret: 'wrong', args: AUD })));
    expect(attempts.every((a) => a.status === 'rejected' && a.reason instanceof UnauthorizedError)).toBe(true);
    for (let i = 0; i < 10; i++) await expect(tokens.get({ clientId: 'app', clientSecret: 'wrong', args: AUD })).rejects.toMatchObject({ status: 401 });
    expect(idp.requests.token).toBe(1);
    // the right secret is not affected by the remembered failure
    await expect(tokens.get({ clientId: 'app', clientSecret: 'right', args: AUD })).resolves.toHaveProperty('accessToken');
  });

  it('sends client_secret_basic when configured', async () => {
    idp.addClient({ clientId: 'basic-only', clientSecret: 'b', tokenEndpointAuthMethod: 'client_secret_basic' });
    const post = new ClientCredentialsTokens({ metadata: discoverMetadata(idp.issuer, { allowInsecure: true }), allowInsecure: true });
    await expect(post.get({ clientId: 'basic-only', clientSecret: 'b', args: AUD })).rejects.toBeInstanceOf(UnauthorizedError);
    const basic = new ClientCredentialsTokens({ metadata: discoverMetadata(idp.issuer, { allowInsecure: true }), allowInsecure: true, authMethod: 'client_secret_basic' });
    await expect(basic.get({ clientId: 'basic-only', clientSecret: 'b', args: AUD })).resolves.toHaveProperty('accessToken');
    expect(idp.requests.token).toBe(2);
  });

  it('replaces a token shortly before it expires', async () => {
    const short = await createTestIssuer({ clients: [{ clientId: 'short', clientSecret: 's' }], tokenLifetime: 31 });
    try {
      const t = new ClientCredentialsTokens({ metadata: discoverMetadata(short.issuer, { allowInsecure: true }), allowInsecure: true, refreshSkew: 30 });
      await t.get({ clientId: 'short', clientSecret: 's', args: AUD });
      await new Promise((r) => setTimeout(r, 1100));
      await t.get({ clientId: 'short', clientSecret: 's', args: AUD });
      expect(short.requests.token).toBe(2);
    } finally {
      await short.close();
    }
  });

  it('answers 502 when the token endpoint answers garbage and 503 when it never answers', async () => {
    idp.setOutage('error');
    await expect(tokens.get({ clientId: 'app', clientSecret: 'right', args: AUD })).rejects.toMatchObject({ status: 502 });
    const hole = await blackHole();
    try {
      const slow = new ClientCredentialsTokens({ metadata: async () => ({ issuer: hole.url, token_endpoint: `${hole.url}oauth/token` }), allowInsecure: true, timeout: 200 });
      const started = Date.now();
      const err = await slow.get({ clientId: 'app', clientSecret: 'right' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IdentityProviderError);
      expect((err as IdentityProviderError).status).toBe(503);
      expect(Date.now() - started).toBeLessThan(1500);
    } finally {
      await hole.close();
    }
  });
});

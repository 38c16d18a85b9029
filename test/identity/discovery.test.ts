import { IdentityProviderError } from 'tollgate';
import { createTestIssuer, type TestIssuer } from 'tollgate/testing';
import { ClientCredentialsTokens } from '../../src/identity/client-credentials';
import { IssuerDiscovery, discoverMetadata } from '../../src/identity/discovery';
import { blackHole, deadPort } from './net';

describe('IssuerDiscovery', () => {
  let idp: TestIssuer;
  beforeEach(async () => {
    idp = await createTestIssuer({ clients: [{ clientId: 'c', clientSecret: 's' }] });
  });
  afterEach(() => idp.close());

  it('discovers once for concurrent callers and keeps the metadata', async () => {
    const discovery = new IssuerDiscovery(idp.issuer, { allowInsecure: true });
    const results = await Promise.all(Array.from({ length: 10 }, () => discovery.get()));
    await discovery.get();
    expect(new Set(results).size).toBe(1);
    expect(results[0]!.issuer).toBe(idp.issuer);
    expect(results[0]!.jwks_uri).toBe(idp.jwksUri);
    expect(discovery.current).toBe(results[0]);
    expect(idp.requests.discovery).toBe(1);
  });

  it('accepts the full .well-known URL and reads the issuer from the document', async () => {
    const discovery = new IssuerDiscovery(idp.discoveryUrl, { allowInsecure: true });
    expect((await discovery.get()).issuer).toBe(idp.issuer);
  });

  it('refuses a plain-http issuer unless allowed', async () => {
    const discovery = new IssuerDiscovery(idp.issuer);
    await expect(discovery.get()).rejects.toBeInstanceOf(IdentityProviderError);
    expect(idp.requests.discovery).toBe(0);
  });

  it('answers 502 when the document names another issuer', async () => {
    const discovery = new IssuerDiscovery(idp.issuer.replace('127.0.0.1', 'localhost'), { allowInsecure: true });
    const err = await discovery.get().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdentityProviderError);
    expect((err as IdentityProviderError).status).toBe(502);
  });

  it('retries a failure after a backoff instead of caching it forever', async () => {
    const discovery = new IssuerDiscovery(idp.issuer, { allowInsecure: true, retryMin: 100, retryMax: 400 });
    idp.setOutage('error');
    await expect(discovery.get()).rejects.toMatchObject({ status: 502 });
    await expect(discovery.get()).rejects.toMatchObject({ status: 502 });
    expect(idp.requests.discovery).toBe(1); // the second call was answered from the backoff window
    idp.setOutage('none');
    await new Promise((r) => setTimeout(r, 150));
    expect((await discovery.get()).issuer).toBe(idp.issuer);
    expect(idp.requests.discovery).toBe(2);
  });

  it('answers 503 quickly when nothing listens', async () => {
    const port = await deadPort();
    const started = Date.now();
    const err = await new IssuerDiscovery(`http://127.0.0.1:${port}/`, { allowInsecure: true }).get().catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 503, code: 'ERR_IDP_UNAVAILABLE' });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('aborts at the timeout when the issuer accepts and never answers', async () => {
    const hole = await blackHole();
    try {
      const started = Date.now();
      const err = await new IssuerDiscovery(hole.url, { allowInsecure: true, timeout: 300 }).get().catch((e: unknown) => e);
      const took = Date.now() - started;
      expect(err).toMatchObject({ status: 503, message: 'The identity provider is unreachable (discovery)' });
      expect(took).toBeGreaterThanOrEqual(250);
      expect(took).toBeLessThan(1500); // openid-client alone would wait its whole-second timeout
      expect(hole.connections()).toBe(1);
    } finally {
      await hole.close();
    }
  });

  it('feeds ClientCredentialsTokens as its metadata source', async () => {
    const tokens = new ClientCredentialsTokens({ metadata: discoverMetadata(idp.issuer, { allowInsecure: true }), allowInsecure: true });
    const token = await tokens.get({ clientId: 'c', clientSecret: 's', args: { audience: 'https://api' } });
    expect(token.accessToken.split('.')).toHaveLength(3);
    await tokens.get({ clientId: 'c', clientSecret: 's', args: { audience: 'https://api' } });
    expect(idp.requests).toMatchObject({ discovery: 1, token: 1 });
  });
});

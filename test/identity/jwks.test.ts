import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import { IdentityProviderError } from 'tollgate';
import { createTestIssuer, type TestIssuer } from 'tollgate/testing';
import { JwksCache } from '../../src/identity/jwks';
import { blackHole } from './net';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('JwksCache', () => {
  let idp: TestIssuer;
  beforeEach(async () => {
    idp = await createTestIssuer();
  });
  afterEach(() => idp.close());

  it('fetches once for concurrent lookups and answers known kids from memory', async () => {
    const cache = new JwksCache({ allowInsecure: true });
    const keys = await Promise.all(Array.from({ length: 10 }, () => cache.key(idp.jwksUri, idp.currentKid, 'RS256')));
    expect(keys.every((k) => k !== null && k.type === 'public')).toBe(true);
    await cache.key(idp.jwksUri, idp.currentKid, 'RS256');
    expect(idp.requests.jwks).toBe(1);
  });

  it('never returns a key for another algorithm family than the key declares', async () => {
    const cache = new JwksCache({ allowInsecure: true });
    expect(await cache.key(idp.jwksUri, idp.currentKid, 'ES256')).toBeNull();
    expect(await cache.key(idp.jwksUri, idp.currentKid, 'HS256')).toBeNull();
    expect(await cache.key(idp.jwksUri, idp.currentKid, 'PS256')).toBeNull(); // the JWK declares alg RS256
  });

  it('refetches once for an unknown kid, then not again within the cooldown', async () => {
    const cache = new JwksCache({ allowInsecure: true, cooldown: 60_000 });
    await cache.key(idp.jwksUri, idp.currentKid, 'RS256');
    const kid = await idp.rotateKeys();
    // the first fetch is within the cooldown, so the new kid is not fetched yet
    expect(await cache.key(idp.jwksUri, kid, 'RS256')).toBeNull();
    expect(await cache.key(idp.jwksUri, 'random-kid', 'RS256')).toBeNull();
    expect(idp.requests.jwks).toBe(1);

    const eager = new JwksCache({ allowInsecure: true, cooldown: 0 });
    await eager.key(idp.jwksUri, 'warm-up', 'RS256');
    const newer = await idp.rotateKeys();
    expect(await eager.key(idp.jwksUri, newer, 'RS256')).not.toBeNull();
    expect(idp.requests.jwks).toBe(3); // 1 for the first cache, the warm-up, then the rotated kid
  });

  it('tells whether a key is still published: unchanged keys stay, withdrawn keys do not', async () => {
    const cache = new JwksCache({ allowInsecure: true, cooldown: 0 });
    const first = (await cache.key(idp.jwksUri, idp.currentKid, 'RS256'))!;
    expect(cache.published(idp.jwksUri, first)).toBe(true);
    const second = await idp.rotateKeys();
    const next = (await cache.key(idp.jwksUri, second, 'RS256'))!;
    // refetched: the first key is still published, and is the very same key
    expect(idp.requests.jwks).toBe(2);
    expect(cache.published(idp.jwksUri, first)).toBe(true);
    expect(await cache.key(idp.jwksUri, await idp.rotateKeys({ dropPrevious: true }), 'RS256')).not.toBeNull();
    expect(cache.published(idp.jwksUri, first)).toBe(false);
    expect(cache.published(idp.jwksUri, next)).toBe(false);
    expect(cache.published('http://127.0.0.1:1/other', first)).toBe(false);
  });

  it('keeps serving the last good keys while the issuer is down, for a bounded time', async () => {
    const cache = new JwksCache({ allowInsecure: true, refreshInterval: 100, staleIfError: 400, cooldown: 50 });
    expect(await cache.key(idp.jwksUri, idp.currentKid, 'RS256')).not.toBeNull();
    idp.setOutage('error');
    await sleep(150);
    // past the refresh interval: served stale, a background refresh fails
    expect(await cache.key(idp.jwksUri, idp.currentKid, 'RS256')).not.toBeNull();
    await sleep(50);
    expect(idp.requests.jwks).toBeGreaterThanOrEqual(2);
    await sleep(400);
    // past refresh interval + stale-if-error: no keys, and the issuer's failure is the answer
    await expect(cache.key(idp.jwksUri, idp.currentKid, 'RS256')).rejects.toBeInstanceOf(IdentityProviderError);
    idp.setOutage('none');
    expect(await cache.key(idp.jwksUri, idp.currentKid, 'RS256')).not.toBeNull();
  });

  it('keeps keys per jwks_uri: the same kid at two issuers are two keys', async () => {
    const other = await createTestIssuer();
    try {
      const cache = new JwksCache({ allowInsecure: true, cooldown: 0 });
      const a = await cache.key(idp.jwksUri, idp.currentKid, 'RS256');
      expect(await cache.key(other.jwksUri, idp.currentKid, 'RS256')).toBeNull();
      expect(await cache.key(other.jwksUri, other.currentKid, 'RS256')).not.toBe(a);
    } finally {
      await other.close();
    }
  });

  it('ignores symmetric, private, encryption and malformed keys', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const ec = { ...(await exportJWK(publicKey)), kid: 'ec' };
    const keys = [
      { kty: 'oct', k: 'c2VjcmV0', kid: 'oct' },
      { ...(await exportJWK(privateKey)), kid: 'private' },
      { ...ec, kid: 'enc', use: 'enc' },
      { kty: 'RSA', n: '!!', e: 'AQAB', kid: 'broken' },
      'not a key',
      ec,
    ];
    const server = http.createServer((_req, res) => res.end(JSON.stringify({ keys })));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const uri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
    try {
      const cache = new JwksCache({ allowInsecure: true, cooldown: 60_000 });
      for (const kid of ['oct', 'private', 'enc', 'broken']) {
        const found = await cache.key(uri, kid, kid === 'oct' ? 'HS256' : kid === 'broken' ? 'RS256' : 'ES256');
        expect([kid, found]).toEqual([kid, null]);
      }
      expect(await cache.key(uri, 'ec', 'ES256')).not.toBeNull();
      expect(await cache.key(uri, undefined, 'ES256')).not.toBeNull(); // no kid: the one key that fits
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('refuses plain http unless allowed, and a JWKS answer that is not 200', async () => {
    await expect(new JwksCache().key(idp.jwksUri, idp.currentKid, 'RS256')).rejects.toMatchObject({ status: 502 });
    expect(idp.requests.jwks).toBe(0);
    await expect(new JwksCache({ allowInsecure: true }).key(`${idp.issuer}nope`, 'x', 'RS256')).rejects.toMatchObject({ status: 502 });
  });

  it('aborts at the timeout when the issuer accepts and never answers', async () => {
    const hole = await blackHole();
    try {
      const started = Date.now();
      await expect(new JwksCache({ allowInsecure: true, timeout: 200 }).key(`${hole.url}jwks`, 'k', 'RS256')).rejects.toMatchObject({ status: 503 });
      expect(Date.now() - started).toBeLessThan(1500);
    } finally {
      await hole.close();
    }
  });
});

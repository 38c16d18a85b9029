import { proxyCache, type ProxyCacheOptions } from 'tollgate';
import { createTestContext, runPlugin, type TestRequestOptions } from 'tollgate/testing';

/** The X-Cache-Key of a request, computed in-process. */
async function keyOf(request: TestRequestOptions, options: ProxyCacheOptions = {}): Promise<string> {
  const result = await runPlugin(proxyCache(options), createTestContext(request), { body: { ok: true } });
  return result.headers['x-cache-key'] as string;
}

describe('proxyCache key', () => {
  it('is a SHA-256 hex digest', async () => {
    expect(await keyOf({ url: '/a' })).toMatch(/^[0-9a-f]{64}$/);
  });

  it('ignores query order but not values, and sorts repeated values', async () => {
    expect(await keyOf({ url: '/a?x=1&y=2' })).toBe(await keyOf({ url: '/a?y=2&x=1' }));
    expect(await keyOf({ url: '/a?x=1&x=2' })).toBe(await keyOf({ url: '/a?x=2&x=1' }));
    expect(await keyOf({ url: '/a?x=1' })).not.toBe(await keyOf({ url: '/a?x=2' }));
    expect(await keyOf({ url: '/a?x=1' })).not.toBe(await keyOf({ url: '/a' }));
  });

  it('covers the method, with HEAD looked up under GET', async () => {
    const options = { requestMethod: ['GET', 'HEAD', 'POST'] } as ProxyCacheOptions;
    const get = await keyOf({ url: '/a' }, options);
    expect(await keyOf({ url: '/a', method: 'HEAD' }, options)).toBe(get);
    expect(await keyOf({ url: '/a', method: 'POST' }, options)).not.toBe(get);
  });

  it('covers the consumer, the full path and the path case unless ignoreUriCase', async () => {
    const anon = await keyOf({ url: '/a' });
    expect(await keyOf({ url: '/a', consumer: { id: 'alice' } })).not.toBe(anon);
    expect(await keyOf({ url: '/a', consumer: { id: 'alice' } })).not.toBe(await keyOf({ url: '/a', consumer: { id: 'bob' } }));
    expect(await keyOf({ url: '/x/a', mountPath: '/x' })).not.toBe(await keyOf({ url: '/y/a', mountPath: '/y' }));
    expect(await keyOf({ url: '/A' })).not.toBe(anon);
    expect(await keyOf({ url: '/A' }, { ignoreUriCase: true })).toBe(await keyOf({ url: '/a' }, { ignoreUriCase: true }));
  });

  it("covers whom the credential belongs to: its sub, else its id, beside the consumer", async () => {
    const app = { id: 'spa' };
    const as = (credential: { id: string; claims?: Record<string, unknown> }) => keyOf({ url: '/a', consumer: app, credential: { type: 'bearer', ...credential } });
    expect(await as({ id: 'alice', claims: { sub: 'alice' } })).not.toBe(await as({ id: 'bob', claims: { sub: 'bob' } }));
    // Two tokens of one user share entries, whatever identifies each token.
    expect(await as({ id: 'jti-1', claims: { sub: 'alice' } })).toBe(await as({ id: 'jti-2', claims: { sub: 'alice' } }));
    // No sub: the credential id decides (a hash of an opaque token, an API key id).
    expect(await as({ id: 'key-1' })).not.toBe(await as({ id: 'key-2' }));
    expect(await as({ id: 'alice', claims: { sub: 'alice' } })).not.toBe(await keyOf({ url: '/a', consumer: app }));
  });

  it('covers the target URI: the scheme and host, whatever else names the target upstream', async () => {
    const plain = await keyOf({ url: '/a', host: 'shop.example' });
    expect(await keyOf({ url: '/a', host: 'evil.example' })).not.toBe(plain);
    expect(await keyOf({ url: '/a', host: 'SHOP.EXAMPLE' })).toBe(plain);
    expect(await keyOf({ url: '/a', host: 'shop.example', protocol: 'https' })).not.toBe(plain);
    for (const name of ['x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-port', 'x-forwarded-prefix', 'x-forwarded-path', 'forwarded']) {
      expect([name, await keyOf({ url: '/a', host: 'shop.example', headers: { [name]: 'evil' } })]).not.toEqual([name, plain]);
    }
  });

  it('covers only the varyHeaders, and only the varyQueryParams when set', async () => {
    const vary = { varyHeaders: ['X-Tenant'] };
    expect(await keyOf({ url: '/a', headers: { 'x-tenant': 'a' } }, vary)).not.toBe(await keyOf({ url: '/a', headers: { 'x-tenant': 'b' } }, vary));
    expect(await keyOf({ url: '/a', headers: { 'x-other': 'a' } })).toBe(await keyOf({ url: '/a', headers: { 'x-other': 'b' } }));
    const only = { varyQueryParams: ['page'] };
    expect(await keyOf({ url: '/a?page=1&utm=x' }, only)).toBe(await keyOf({ url: '/a?utm=y&page=1' }, only));
  });

  it('replays a hit in-process through tollgate/testing', async () => {
    const cache = proxyCache();
    const first = await runPlugin(cache, createTestContext({ url: '/a' }), { body: { n: 1 } });
    const second = await runPlugin(cache, createTestContext({ url: '/a' }), { body: { n: 2 } });
    expect(first.headers['x-cache-status']).toBe('Miss');
    expect(second.exited).toBe(true);
    expect(second.headers['x-cache-status']).toBe('Hit');
    expect(second.body).toEqual({ n: 1 });
  });
});

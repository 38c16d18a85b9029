import { ConfigError, proxyCache } from 'tollgate';
import { configError } from '../../support/config-error';

const message = (fn: () => unknown): string => configError(fn).message;

describe('proxyCache options', () => {
  it("has Kong's defaults", () => {
    const { name, priority, config } = proxyCache();
    expect({ name, priority }).toEqual({ name: 'proxy-cache', priority: 100 });
    expect(config).toEqual({
      strategy: 'memory',
      cacheTtl: 300,
      requestMethod: ['GET', 'HEAD'],
      responseCode: [200, 301, 404],
      contentType: ['text/plain', 'application/json'],
      varyHeaders: [],
      varyQueryParams: [],
      ignoreUriCase: false,
      cacheControl: false,
      maxBodySize: 1048576,
      memory: { maxBytes: 67108864 },
      responseHeaders: { xCacheStatus: true, xCacheKey: true, age: true },
      lock: true,
      lockTimeout: 5,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('normalises header names and single values', () => {
    const { config } = proxyCache({ varyHeaders: ['Accept-Language', 'accept-language'], requestMethod: ['GET'] });
    expect(config.varyHeaders).toEqual(['accept-language']);
    expect(config.requestMethod).toEqual(['GET']);
  });

  it.each([
    [{ strategy: 'disk' }, 'proxyCache: "strategy" must be one of "memory", "redis", got "disk"'],
    [{ cacheTtl: 0 }, 'proxyCache: "cacheTtl" must be a positive number of seconds, got 0'],
    [{ cacheTtl: '30' }, 'proxyCache: "cacheTtl" must be a positive number of seconds, got "30"'],
    [{ storageTtl: -1 }, 'proxyCache: "storageTtl" must be a positive number of seconds, got -1'],
    [{ requestMethod: ['DELETE'] }, 'proxyCache: "requestMethod[0]" must be one of "GET", "HEAD", "POST", "PUT", "PATCH", got "DELETE"'],
    [{ requestMethod: [] }, 'proxyCache: "requestMethod" must be'],
    [{ responseCode: [99] }, 'proxyCache: "responseCode[0]" must be an integer ≥ 100 ≤ 999, got 99'],
    [{ contentType: ['json'] }, 'proxyCache: "contentType[0]" must be a media type such as "application/json" or "text/*", got "json"'],
    [{ varyHeaders: ['bad header'] }, 'proxyCache: "varyHeaders[0]" must be an HTTP header name, got "bad header"'],
    [{ maxBodySize: 0 }, 'proxyCache: "maxBodySize" must be a positive integer, got 0'],
    [{ memory: { maxBytes: 1.5 } }, 'proxyCache: "memory.maxBytes" must be a positive integer, got 1.5'],
    [{ maxBodySize: 2000, memory: { maxBytes: 1000 } }, 'proxyCache: "maxBodySize" (2000) must not exceed "memory.maxBytes" (1000)'],
    [{ strategy: 'redis' }, 'proxyCache: "redis" is required when "strategy" is "redis"'],
    [{ redis: { url: 'redis://127.0.0.1:6379' } }, 'proxyCache: "redis" is set but "strategy" is "memory"'],
    [{ strategy: 'redis', redis: { url: 'http://x' } }, 'proxyCache: "redis.url" must be a redis:// or rediss:// URL'],
    [{ strategy: 'redis', redis: { url: 'redis://127.0.0.1:6379' }, memory: { maxBytes: 10 } }, 'proxyCache: "memory" only applies to strategy "memory"'],
    [{ responseHeaders: { XCacheStatus: false } }, 'proxyCache: unknown option "responseHeaders.XCacheStatus" (did you mean "xCacheStatus"?)'],
    [{ cacheTTL: 30 }, 'proxyCache: unknown option "cacheTTL" (did you mean "cacheTtl"?)'],
    [{ lockTimeout: 0 }, 'proxyCache: "lockTimeout" must be a positive number of seconds, got 0'],
  ])('rejects %j', (options, expected) => {
    expect(message(() => proxyCache(options as never))).toContain(expected);
  });

  it('names the option in the error', () => {
    try {
      proxyCache({ memory: { maxBytes: -1 } });
    } catch (err) {
      expect((err as ConfigError).option).toBe('memory.maxBytes');
    }
    expect.assertions(1);
  });
});

import Redis from 'ioredis';
import { ConfigError, rateLimit, type RateLimitOptions } from 'tollgate';
import { configError as expectConfigError } from '../../support/config-error';

const configError = (options: unknown): ConfigError => expectConfigError(() => rateLimit(options as RateLimitOptions));

describe('rateLimit options', () => {
  it('resolves Kong defaults and takes Kong\'s plugin name and priority', () => {
    const plugin = rateLimit({ minute: 5 });
    expect(plugin.name).toBe('rate-limiting');
    expect(plugin.priority).toBe(910);
    expect(plugin.config).toEqual({
      limits: { minute: 5 },
      limitBy: 'consumer',
      policy: 'local',
      faultTolerant: true,
      hideClientHeaders: false,
      errorCode: 429,
      errorMessage: 'API rate limit exceeded',
      headers: 'kong',
      maxKeys: 100_000,
    });
    expect(Object.isFrozen(plugin.config)).toBe(true);
  });

  it.each([
    [{}, 'minute', /set at least one of "second", "minute"/],
    [undefined, 'minute', /set at least one of/],
    [{ minute: -1 }, 'minute', /"minute" must be a positive integer, got -1/],
    [{ minute: 2.5 }, 'minute', /"minute" must be a positive integer, got 2\.5/],
    [{ hour: '10' }, 'hour', /"hour" must be a positive integer, got "10"/],
    [{ minute: 10, hour: 5 }, 'hour', /"hour" \(5\) must not be lower than "minute" \(10\)/],
    [{ minuet: 5 }, 'minuet', /unknown option "minuet" \(did you mean "minute"\?\)/],
    [{ minute: 5, limitBy: 'user' }, 'limitBy', /"limitBy" must be one of "consumer", "credential", "ip", "header", "path", "service", got "user"/],
    [{ minute: 5, limitBy: 'header' }, 'headerName', /"headerName" is required with limitBy: "header"/],
    [{ minute: 5, limitBy: 'header', headerName: 'x bad' }, 'headerName', /"headerName" must be a header name/],
    [{ minute: 5, headerName: 'x-api-key' }, 'headerName', /"headerName" is only used with limitBy: "header" \(limitBy is "consumer"\)/],
    [{ minute: 5, limitBy: 'path' }, 'path', /"path" is required with limitBy: "path"/],
    [{ minute: 5, limitBy: 'path', path: 'orders' }, 'path', /"path" must be a path starting with "\/"/],
    [{ minute: 5, path: '/orders' }, 'path', /"path" is only used with limitBy: "path"/],
    [{ minute: 5, policy: 'cluster' }, 'policy', /"policy" must be one of "local", "redis", got "cluster"/],
    [{ minute: 5, policy: 'redis' }, 'redis', /"redis" is required with policy: "redis"/],
    [{ minute: 5, redis: { url: 'redis://127.0.0.1:6379' } }, 'redis', /"redis" is set but "policy" is "local"/],
    [{ minute: 5, policy: 'redis', redis: { url: 'http://x' } }, 'redis.url', /"redis.url" must be a redis:\/\/ or rediss:\/\/ URL/],
    [{ minute: 5, policy: 'redis', redis: { url: 'redis://127.0.0.1:6379' }, maxKeys: 10 }, 'maxKeys', /"maxKeys" bounds local counters/],
    [{ minute: 5, faultTolerant: 'yes' }, 'faultTolerant', /"faultTolerant" must be true or false, got "yes"/],
    [{ minute: 5, errorCode: 200 }, 'errorCode', /"errorCode" must be an integer ≥ 400 ≤ 599, got 200/],
    [{ minute: 5, errorMessage: '' }, 'errorMessage', /"errorMessage" must be a non-empty string/],
    [{ minute: 5, headers: 'draft-9' }, 'headers', /"headers" must be one of "kong", "draft-6", "draft-7", "draft-8", got "draft-9"/],
    [{ minute: 5, maxKeys: 0 }, 'maxKeys', /"maxKeys" must be a positive integer, got 0/],
    [{ minute: 5, hideClientHeaders: 1 }, 'hideClientHeaders', /"hideClientHeaders" must be true or false, got 1/],
  ])('rejects %j with a ConfigError naming %s', (options, option, message) => {
    const err = configError(options);
    expect(err.option).toBe(option);
    expect(err.message).toMatch(/^rateLimit: /);
    expect(err.message).toMatch(message);
  });

  it('accepts every window, each limitBy with its companion option, and an ioredis client', () => {
    expect(rateLimit({ second: 1, minute: 1, hour: 1, day: 1, month: 1, year: 1 }).config.limits).toEqual({
      second: 1,
      minute: 1,
      hour: 1,
      day: 1,
      month: 1,
      year: 1,
    });
    expect(rateLimit({ minute: 1, limitBy: 'header', headerName: 'X-API-Key' }).config.headerName).toBe('x-api-key');
    expect(rateLimit({ minute: 1, limitBy: 'path', path: '/orders' }).config.path).toBe('/orders');
    const client = new Redis('redis://127.0.0.1:6379', { lazyConnect: true });
    const plugin = rateLimit({ minute: 1, policy: 'redis', redis: { client } });
    expect(plugin.config.redis?.client).toBe(client);
    client.disconnect();
  });
});

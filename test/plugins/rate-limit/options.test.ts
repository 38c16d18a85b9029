import Redis from 'ioredis';
import mysql from 'mysql2';
import pg from 'pg';
import { ConfigError, rateLimit, type RateLimitOptions } from 'tollgate';
import { configError as expectConfigError } from '../../support/config-error';

// Pools that never connect (nothing is queried through them): only their shape is checked.
const pgPool = new pg.Pool({ host: '127.0.0.1', user: 'postgres', database: 'test' });
const mysqlPool = mysql.createPool({ host: '127.0.0.1', user: 'root', database: 'test' });
const mysqlNoDatabase = mysql.createPool({ host: '127.0.0.1', user: 'root' });
afterAll(async () => {
  await pgPool.end();
  await new Promise((resolve) => mysqlPool.end(resolve));
  await new Promise((resolve) => mysqlNoDatabase.end(resolve));
});

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
    [{ minute: 5, policy: 'kong' }, 'policy', /"policy" must be one of "local", "redis", "cluster", got "kong"/],
    [{ minute: 5, policy: 'redis' }, 'redis', /"redis" is required with policy: "redis"/],
    [{ minute: 5, redis: { url: 'redis://127.0.0.1:6379' } }, 'redis', /"redis" is set but "policy" is "local"/],
    [{ minute: 5, policy: 'redis', redis: { url: 'http://x' } }, 'redis.url', /"redis.url" must be a redis:\/\/ or rediss:\/\/ URL/],
    [{ minute: 5, policy: 'redis', redis: { url: 'redis://:s3cret@[bad' } }, 'redis.url', /"redis.url" must be a redis:\/\/ or rediss:\/\/ URL, got a string$/],
    [{ minute: 5, policy: 'redis', redis: { url: 'redis://127.0.0.1:6379' }, maxKeys: 10 }, 'maxKeys', /"maxKeys" bounds local counters/],
    [{ minute: 5, policy: 'redis', redis: {} }, 'redis', /"redis" must set exactly one of "url", "cluster" or "client", got none/],
    [{ minute: 5, policy: 'redis', redis: { url: 'redis://a:1', cluster: ['redis://a:1'] } }, 'redis', /got "url" and "cluster"/],
    [{ minute: 5, policy: 'redis', redis: { cluster: [] } }, 'redis.cluster', /"redis.cluster" must be a non-empty array of redis:\/\/ or rediss:\/\/ URLs/],
    [{ minute: 5, policy: 'redis', redis: { cluster: ['redis://a:1', 'a:2'] } }, 'redis.cluster[1]', /"redis.cluster\[1\]" must be a redis:\/\/ or rediss:\/\/ URL/],
    [{ minute: 5, policy: 'redis', redis: { cluster: ['redis://a:1', 'rediss://b:2'] } }, 'redis.cluster', /one scheme for every node/],
    [{ minute: 5, policy: 'redis', redis: { client: {} } }, 'redis.client', /"redis.client" must be an ioredis client \(Redis or Cluster\)/],
    [{ minute: 5, policy: 'redis', redis: { url: 'redis://a:1', connectTimeout: 0 } }, 'redis.connectTimeout', /"redis.connectTimeout" must be a positive integer, got 0/],
    [{ minute: 5, policy: 'redis', redis: { url: 'redis://a:1', timeout: 5 } }, 'redis.timeout', /unknown option "redis.timeout"/],
    [{ minute: 5, policy: 'cluster' }, 'cluster', /"cluster" is required with policy: "cluster"/],
    [{ minute: 5, cluster: { client: pgPool, type: 'pg' } }, 'cluster', /"cluster" is set but "policy" is "local"; set policy: "cluster"/],
    [{ minute: 5, policy: 'redis', redis: { url: 'redis://a:1' }, cluster: { client: pgPool, type: 'pg' } }, 'cluster', /"cluster" is set but "policy" is "redis"/],
    [{ minute: 5, policy: 'cluster', redis: { url: 'redis://a:1' }, cluster: { client: pgPool, type: 'pg' } }, 'redis', /"redis" is set but "policy" is "cluster"/],
    [{ minute: 5, policy: 'cluster', cluster: { client: pgPool } }, 'cluster.type', /"cluster.type" is required \(one of "pg", "mysql2"\)/],
    [{ minute: 5, policy: 'cluster', cluster: { client: pgPool, type: 'postgres' } }, 'cluster.type', /"cluster.type" must be one of "pg", "mysql2", got "postgres"/],
    [{ minute: 5, policy: 'cluster', cluster: { type: 'pg' } }, 'cluster.client', /"cluster.client" is required/],
    [{ minute: 5, policy: 'cluster', cluster: { client: mysqlPool, type: 'pg' } }, 'cluster.client', /"cluster.client" must be a pg.Pool with type: 'pg'/],
    [{ minute: 5, policy: 'cluster', cluster: { client: new pg.Client(), type: 'pg' } }, 'cluster.client', /must be a pg.Pool/],
    [{ minute: 5, policy: 'cluster', cluster: { client: pgPool, type: 'mysql2' } }, 'cluster.client', /"cluster.client" must be a mysql2 pool with type: 'mysql2'/],
    [{ minute: 5, policy: 'cluster', cluster: { client: mysqlNoDatabase, type: 'mysql2' } }, 'cluster.client', /must be a mysql2 pool with a "database" in its options/],
    [{ minute: 5, policy: 'cluster', cluster: { client: pgPool, type: 'pg', tableName: 'rate-limits' } }, 'cluster.tableName', /"cluster.tableName" must be a table name/],
    [{ minute: 5, policy: 'cluster', cluster: { client: pgPool, type: 'pg', commandTimeout: -1 } }, 'cluster.commandTimeout', /must be a positive integer/],
    [{ minute: 5, policy: 'cluster', cluster: { client: pgPool, type: 'pg' }, maxKeys: 10 }, 'maxKeys', /with policy: "cluster" the store expires them/],
    [{ minute: 5, faultTolerant: 'yes' }, 'faultTolerant', /"faultTolerant" must be true or false, got "yes"/],
    [{ minute: 5, errorCode: 200 }, 'errorCode', /"errorCode" must be an integer ≥ 400 ≤ 599, got 200/],
    [{ minute: 5, errorMessage: '' }, 'errorMessage', /"errorMessage" must be a non-empty string/],
    [{ minute: 5, headers: 'draft-9' }, 'headers', /"headers" must be one of "kong", "draft-6", "draft-7", "draft-8", got "draft-9"/],
    [{ minute: 5, maxKeys: 0 }, 'maxKeys', /"maxKeys" must be a positive integer, got 0/],
    [{ minute: 5, hideClientHeaders: 1 }, 'hideClientHeaders', /"hideClientHeaders" must be true or false, got 1/],
    [{ minute: 5, now: 1_700_000_000_000 }, 'now', /"now" must be a function returning epoch milliseconds/],
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

  it('resolves the redis option with its defaults, for each form', async () => {
    const plugin = rateLimit({ minute: 1, policy: 'redis', redis: { cluster: ['redis://127.0.0.1:1', 'redis://127.0.0.1:2'] } });
    expect(plugin.config.redis).toEqual({ cluster: ['redis://127.0.0.1:1', 'redis://127.0.0.1:2'], commandTimeout: 500, connectTimeout: 3000, prefix: 'tollgate:' });
    await plugin.close();
    const own = rateLimit({ minute: 1, policy: 'redis', redis: { url: 'redis://127.0.0.1:1', commandTimeout: 50, connectTimeout: 100, prefix: 'x:' } });
    expect(own.config.redis).toEqual({ url: 'redis://127.0.0.1:1', commandTimeout: 50, connectTimeout: 100, prefix: 'x:' });
    await own.close();
  });
});

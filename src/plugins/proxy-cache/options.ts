/**
 * The proxy-cache plugin's options (Kong's proxy-cache schema in camelCase) and their validation.
 *
 * @see https://developer.konghq.com/plugins/proxy-cache/reference/ — Kong's config fields
 */
import { ConfigError } from '../../core/errors';
import type { LoggerOption } from '../../core/logger';
import { parseShape, v, type Validator } from '../../core/config';
import { redisOption, type RedisConfig, type RedisOptions } from '../../stores/redis-options';
import { parseMediaRange, type MediaRange } from './content-type';

/** Request methods Kong's proxy-cache accepts in `request_method`. */
export const CACHEABLE_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH'] as const;
/** One of {@link CACHEABLE_METHODS}. */
export type CacheableMethod = (typeof CACHEABLE_METHODS)[number];

/** What `proxyCache()` takes. Every option has a default except `redis` with `strategy: 'redis'`. */
export interface ProxyCacheOptions extends LoggerOption {
  /**
   * Where entries live: `memory` (this process, lru-cache bounded in bytes) or `redis` (shared by
   * every instance). Kong requires it; tollgate defaults to memory.
   * @defaultValue `'memory'`
   */
  strategy?: 'memory' | 'redis';
  /** Seconds an entry stays fresh when `cacheControl` is off. Fractions allowed. @defaultValue 300 */
  cacheTtl?: number;
  /**
   * Seconds an entry is kept in storage, independent of freshness. Longer than `cacheTtl`, stale
   * entries are kept and answered as `Refresh` (fetched again, then replaced).
   * @defaultValue the freshness lifetime (`cacheTtl`, or the response's own with `cacheControl`)
   */
  storageTtl?: number;
  /** Methods whose responses may be cached (the request body is never part of the key). @defaultValue `['GET', 'HEAD']` */
  requestMethod?: CacheableMethod[];
  /** Statuses whose responses may be cached. @defaultValue `[200, 301, 404]` */
  responseCode?: number[];
  /**
   * Media types whose responses may be cached, matched by type/subtype and ignoring parameters the
   * entry does not name (`application/json; charset=utf-8` matches `application/json`). `text/*`
   * and `*\/*` are wildcards.
   * @defaultValue `['text/plain', 'application/json']`
   */
  contentType?: string[];
  /** Request headers whose values are part of the key (case-insensitive names). @defaultValue `[]` */
  varyHeaders?: string[];
  /** Query parameters that are part of the key; empty means all of them. @defaultValue `[]` (all) */
  varyQueryParams?: string[];
  /** Lower-case the path in the key, so `/Orders` and `/orders` share an entry. @defaultValue false */
  ignoreUriCase?: boolean;
  /**
   * Honour RFC 9111 `Cache-Control`: responses need explicit freshness (`s-maxage`, `max-age`,
   * `Expires`) and no `private`/`no-store`/`no-cache`; requests may ask for `no-cache`, `no-store`,
   * `max-age`, `min-fresh`, `max-stale`, `only-if-cached`. Off, `cacheTtl` decides freshness, but a
   * response marked `no-store` or `private` is still never stored (Kong stores it).
   * @defaultValue false (as in Kong)
   */
  cacheControl?: boolean;
  /** Largest body, in bytes, one entry may hold; bigger responses are passed through unstored. @defaultValue 1048576 (1 MiB) */
  maxBodySize?: number;
  /** The `memory` strategy's bound. */
  memory?: {
    /** Bytes all entries together may take (bodies and headers); least recently used go first. @defaultValue 67108864 (64 MiB) */
    maxBytes?: number;
  };
  /**
   * The `redis` strategy's connection: `{ url }`, `{ cluster: [urls] }` (a Redis Cluster) or
   * `{ client }` (your ioredis `Redis` or `Cluster`), with an optional key `prefix`, `commandTimeout`
   * and `connectTimeout`. A fresh instance's first lookups wait for the first connection.
   */
  redis?: RedisOptions;
  /** Which of the cache's own response headers are sent. */
  responseHeaders?: {
    /** `X-Cache-Status`. @defaultValue true */
    xCacheStatus?: boolean;
    /** `X-Cache-Key`. @defaultValue true */
    xCacheKey?: boolean;
    /** `Age` on hits. @defaultValue true */
    age?: boolean;
  };
  /**
   * Collapse concurrent misses for one key: one request goes to the handler, the others wait for
   * its response (tollgate's addition, like nginx's `proxy_cache_lock`).
   * @defaultValue true
   */
  lock?: boolean;
  /** Seconds a waiting request waits for the first one before it goes on its own. @defaultValue 5 */
  lockTimeout?: number;
}

/** The resolved, frozen options. */
export interface ProxyCacheConfig {
  readonly strategy: 'memory' | 'redis';
  readonly cacheTtl: number;
  readonly storageTtl?: number;
  readonly requestMethod: readonly CacheableMethod[];
  readonly responseCode: readonly number[];
  readonly contentType: readonly string[];
  readonly varyHeaders: readonly string[];
  readonly varyQueryParams: readonly string[];
  readonly ignoreUriCase: boolean;
  readonly cacheControl: boolean;
  readonly maxBodySize: number;
  readonly memory: { readonly maxBytes: number };
  readonly redis?: RedisConfig;
  readonly responseHeaders: { readonly xCacheStatus: boolean; readonly xCacheKey: boolean; readonly age: boolean };
  readonly lock: boolean;
  readonly lockTimeout: number;
}

const seconds = (): Validator<number> =>
  v.custom<number>('a positive number of seconds', (x) => typeof x === 'number' && Number.isFinite(x) && x > 0);

const mediaRange = v.custom<string>('a media type such as "application/json" or "text/*"', (x) => typeof x === 'string' && parseMediaRange(x) !== undefined);

const headerName = v.custom<string>('an HTTP header name', (x) => typeof x === 'string' && /^[!#$%&'*+.^_`|~0-9a-z-]+$/i.test(x));

const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
const DEFAULT_MAX_BODY = 1024 * 1024;

const shape = {
  strategy: v.optional(v.oneOf(['memory', 'redis'] as const), 'memory'),
  cacheTtl: v.optional(seconds(), 300),
  storageTtl: v.optional(seconds()),
  requestMethod: v.optional(v.list(v.oneOf(CACHEABLE_METHODS), { minLength: 1 }), () => ['GET', 'HEAD'] as CacheableMethod[]),
  responseCode: v.optional(v.list(v.integer({ min: 100, max: 999 }), { minLength: 1 }), () => [200, 301, 404]),
  contentType: v.optional(v.list(mediaRange, { minLength: 1 }), () => ['text/plain', 'application/json']),
  varyHeaders: v.optional(v.list(headerName), () => [] as string[]),
  varyQueryParams: v.optional(v.list(v.string()), () => [] as string[]),
  ignoreUriCase: v.optional(v.boolean(), false),
  cacheControl: v.optional(v.boolean(), false),
  maxBodySize: v.optional(v.integer({ min: 1 }), DEFAULT_MAX_BODY),
  memory: v.optional(v.object({ maxBytes: v.optional(v.integer({ min: 1 }), DEFAULT_MAX_BYTES) })),
  redis: v.optional(redisOption()),
  responseHeaders: v.optional(
    v.object({
      xCacheStatus: v.optional(v.boolean(), true),
      xCacheKey: v.optional(v.boolean(), true),
      age: v.optional(v.boolean(), true),
    }),
    () => ({ xCacheStatus: true, xCacheKey: true, age: true }),
  ),
  lock: v.optional(v.boolean(), true),
  lockTimeout: v.optional(seconds(), 5),
};

/**
 * Validates `proxyCache()` options and fills in the defaults.
 *
 * @throws ConfigError naming the option when one is wrong.
 */
export function parseProxyCacheOptions(options: ProxyCacheOptions | undefined): ProxyCacheConfig {
  const where = { plugin: 'proxyCache' };
  const parsed = parseShape(where, shape, options);
  if (parsed.strategy === 'redis' && !parsed.redis) {
    throw new ConfigError('proxyCache: "redis" is required when "strategy" is "redis" ({ url }, { cluster } or { client })', 'redis');
  }
  if (parsed.strategy === 'memory' && parsed.redis) {
    throw new ConfigError('proxyCache: "redis" is set but "strategy" is "memory"; set strategy: "redis" to use it', 'redis');
  }
  if (parsed.strategy === 'redis' && parsed.memory) {
    throw new ConfigError('proxyCache: "memory" only applies to strategy "memory"', 'memory');
  }
  const memory = parsed.memory ?? { maxBytes: DEFAULT_MAX_BYTES };
  if (parsed.strategy === 'memory' && parsed.maxBodySize > memory.maxBytes) {
    throw new ConfigError(
      `proxyCache: "maxBodySize" (${parsed.maxBodySize}) must not exceed "memory.maxBytes" (${memory.maxBytes})`,
      'maxBodySize',
    );
  }
  const dedupe = <T>(xs: T[]) => [...new Set(xs)];
  return {
    ...parsed,
    requestMethod: dedupe(parsed.requestMethod),
    responseCode: dedupe(parsed.responseCode),
    varyHeaders: dedupe(parsed.varyHeaders.map((h) => h.toLowerCase())),
    varyQueryParams: dedupe(parsed.varyQueryParams),
    memory,
  };
}

/** The configured media ranges, parsed once. */
export const mediaRanges = (config: ProxyCacheConfig): MediaRange[] => config.contentType.map((x) => parseMediaRange(x)!);

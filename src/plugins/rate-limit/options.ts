/**
 * The rate-limit plugin's options (Kong's `rate-limiting` schema in camelCase) and their validation,
 * run once when the plugin is constructed.
 *
 * @see https://developer.konghq.com/plugins/rate-limiting/reference/ — Kong's schema
 */
import { parseShape, v } from '../../core/config';
import { ConfigError } from '../../core/errors';
import type { LoggerOption } from '../../core/logger';
import { redisOption, type RedisConfig, type RedisOptions } from '../../stores/redis-options';
import { sqlOption, type SqlConfig, type SqlOptions } from '../../stores/sql';
import { WINDOW_NAMES, type WindowName } from './windows';

/** What a request is counted by. */
export type LimitBy = 'consumer' | 'credential' | 'ip' | 'header' | 'path' | 'service';

/** Which rate-limit headers are sent. */
export type HeaderStyle = 'kong' | 'draft-6' | 'draft-7' | 'draft-8';

/** What `rateLimit()` takes. At least one window (`second` … `year`) is required. */
export interface RateLimitOptions extends LoggerOption {
  /** Requests allowed per second (UTC-aligned fixed window). */
  second?: number;
  /** Requests allowed per minute. */
  minute?: number;
  /** Requests allowed per hour. */
  hour?: number;
  /** Requests allowed per UTC day. */
  day?: number;
  /** Requests allowed per calendar month (UTC). */
  month?: number;
  /** Requests allowed per calendar year (UTC). */
  year?: number;
  /**
   * What requests are counted by: `consumer` (falls back to the credential, then the client IP),
   * `credential` (falls back to the IP), `ip`, `header` (the value of `headerName`, else the IP),
   * `path` (requests whose path is exactly `path` share one counter; other paths count by IP) or
   * `service` (every request through this plugin at one mount path shares one counter).
   * @defaultValue `'consumer'`
   */
  limitBy?: LimitBy;
  /** The request header counted by, with `limitBy: 'header'`. */
  headerName?: string;
  /** The path (as the client sent it, starting with `/`) counted as one, with `limitBy: 'path'`. */
  path?: string;
  /**
   * `local`: counters in this process's memory. `redis`: counters in Redis (one server, Sentinel
   * or a Redis Cluster), shared by every instance of the service and exact under concurrency.
   * `cluster`: counters in the service's own SQL database (PostgreSQL or MySQL), like Kong's
   * `cluster` policy.
   * @defaultValue `'local'`
   */
  policy?: 'local' | 'redis' | 'cluster';
  /** How to reach Redis (`{ url }`, `{ cluster }` or `{ client }`); required with `policy: 'redis'`. */
  redis?: RedisOptions;
  /**
   * The SQL database of `policy: 'cluster'`: the app's `pg.Pool` or `mysql2` pool and its type,
   * `{ client: pool, type: 'pg' }`; required with that policy.
   */
  cluster?: SqlOptions;
  /**
   * When the store (Redis, the database) fails: `true` lets the request through without
   * rate-limit headers (the outage is logged once); `false` answers 500.
   * @defaultValue `true`
   */
  faultTolerant?: boolean;
  /** Send no rate-limit headers at all, not even `Retry-After`. @defaultValue `false` */
  hideClientHeaders?: boolean;
  /**
   * **tollgate addition**, a test seam: the clock that places a request in its windows, in epoch
   * milliseconds. Windows follow the UTC calendar, so a test that counts within one minute passes
   * a clock that stays inside it instead of waiting for the next one.
   * @defaultValue `Date.now`
   */
  now?: () => number;
  /** The status of a refused request (400–599). @defaultValue `429` */
  errorCode?: number;
  /** The `message` of a refused request's JSON body. @defaultValue `'API rate limit exceeded'` */
  errorMessage?: string;
  /**
   * tollgate addition. Header style: `kong` (`X-RateLimit-*-<Window>` and `RateLimit-*`), or the
   * IETF RateLimit header draft as express-rate-limit's `standardHeaders` sends it.
   * @defaultValue `'kong'`
   */
  headers?: HeaderStyle;
  /**
   * tollgate addition. Without it, counters are kept per route the plugin is mounted on (Kong
   * scopes them to the route or service a plugin is attached to) and, with Redis or the database, keyed by the
   * route and the plugin's options, so every instance of the service shares them whatever order
   * it built its plugins in. With it, one budget wherever the plugin is mounted: across routes for
   * a plugin object (`local`), and across every plugin with this namespace (`redis`, `cluster`).
   */
  namespace?: string;
  /**
   * tollgate addition, `local` only. Clients tracked per window: the most recently seen `maxKeys`
   * are always kept and at most twice as many are held, so a flood of distinct IPs cannot grow
   * the process without limit.
   * @defaultValue `100000`
   */
  maxKeys?: number;
}

/** The resolved, frozen options. */
export interface RateLimitConfig {
  readonly limits: Readonly<Partial<Record<WindowName, number>>>;
  readonly limitBy: LimitBy;
  readonly headerName?: string;
  readonly path?: string;
  readonly policy: 'local' | 'redis' | 'cluster';
  readonly redis?: RedisConfig;
  readonly cluster?: SqlConfig;
  readonly faultTolerant: boolean;
  readonly hideClientHeaders: boolean;
  readonly errorCode: number;
  readonly errorMessage: string;
  readonly headers: HeaderStyle;
  readonly namespace?: string;
  readonly maxKeys: number;
  /** The clock, when the app passed one. */
  readonly now?: () => number;
}

const limit = () => v.optional(v.integer({ min: 1 }));

const shape = {
  second: limit(),
  minute: limit(),
  hour: limit(),
  day: limit(),
  month: limit(),
  year: limit(),
  limitBy: v.optional(v.oneOf(['consumer', 'credential', 'ip', 'header', 'path', 'service'] as const), 'consumer'),
  headerName: v.optional(v.custom<string>('a header name', (x) => typeof x === 'string' && /^[!#$%&'*+.^_`|~0-9a-z-]+$/i.test(x))),
  path: v.optional(v.custom<string>('a path starting with "/"', (x) => typeof x === 'string' && x.startsWith('/'))),
  policy: v.optional(v.oneOf(['local', 'redis', 'cluster'] as const), 'local'),
  redis: v.optional(redisOption()),
  cluster: v.optional(sqlOption()),
  faultTolerant: v.optional(v.boolean(), true),
  hideClientHeaders: v.optional(v.boolean(), false),
  errorCode: v.optional(v.integer({ min: 400, max: 599 }), 429),
  errorMessage: v.optional(v.string(), 'API rate limit exceeded'),
  headers: v.optional(v.oneOf(['kong', 'draft-6', 'draft-7', 'draft-8'] as const), 'kong'),
  namespace: v.optional(v.string()),
  maxKeys: v.optional(v.integer({ min: 1 })),
  now: v.optional(v.clock()),
};

const where = { plugin: 'rateLimit' };

/** Validates `rateLimit()` options; throws `ConfigError` naming the option. */
export function parseRateLimitOptions(options: RateLimitOptions): RateLimitConfig {
  const o = parseShape(where, shape, options);
  const limits: Partial<Record<WindowName, number>> = {};
  let previous: WindowName | undefined;
  for (const name of WINDOW_NAMES) {
    const value = o[name];
    if (value === undefined) continue;
    // Kong's schema check: a longer window allowing fewer requests than a shorter one is a typo.
    if (previous !== undefined && value < limits[previous]!) {
      throw new ConfigError(`rateLimit: "${name}" (${value}) must not be lower than "${previous}" (${limits[previous]})`, name);
    }
    limits[name] = value;
    previous = name;
  }
  if (previous === undefined) {
    throw new ConfigError(`rateLimit: set at least one of ${WINDOW_NAMES.map((n) => `"${n}"`).join(', ')} (requests allowed per window)`, 'minute');
  }
  if (o.limitBy === 'header' && o.headerName === undefined) {
    throw new ConfigError('rateLimit: "headerName" is required with limitBy: "header"', 'headerName');
  }
  if (o.limitBy !== 'header' && o.headerName !== undefined) {
    throw new ConfigError(`rateLimit: "headerName" is only used with limitBy: "header" (limitBy is "${o.limitBy}")`, 'headerName');
  }
  if (o.limitBy === 'path' && o.path === undefined) {
    throw new ConfigError('rateLimit: "path" is required with limitBy: "path"', 'path');
  }
  if (o.limitBy !== 'path' && o.path !== undefined) {
    throw new ConfigError(`rateLimit: "path" is only used with limitBy: "path" (limitBy is "${o.limitBy}")`, 'path');
  }
  if (o.policy === 'redis' && o.redis === undefined) {
    throw new ConfigError('rateLimit: "redis" is required with policy: "redis" ({ url }, { cluster } or { client })', 'redis');
  }
  if (o.policy === 'cluster' && o.cluster === undefined) {
    throw new ConfigError(`rateLimit: "cluster" is required with policy: "cluster" ({ client: pool, type: 'pg' | 'mysql2' })`, 'cluster');
  }
  // Without these, a forgotten or mistyped `policy` would silently count per process.
  if (o.policy !== 'redis' && o.redis !== undefined) {
    throw new ConfigError(`rateLimit: "redis" is set but "policy" is "${o.policy}"; set policy: "redis" to count in Redis`, 'redis');
  }
  if (o.policy !== 'cluster' && o.cluster !== undefined) {
    throw new ConfigError(`rateLimit: "cluster" is set but "policy" is "${o.policy}"; set policy: "cluster" to count in the database`, 'cluster');
  }
  if (o.policy !== 'local' && o.maxKeys !== undefined) {
    throw new ConfigError(`rateLimit: "maxKeys" bounds local counters; with policy: "${o.policy}" the store expires them`, 'maxKeys');
  }
  return {
    limits,
    limitBy: o.limitBy,
    ...(o.headerName !== undefined ? { headerName: o.headerName.toLowerCase() } : {}),
    ...(o.path !== undefined ? { path: o.path } : {}),
    policy: o.policy,
    ...(o.redis !== undefined ? { redis: o.redis } : {}),
    ...(o.cluster !== undefined ? { cluster: o.cluster } : {}),
    faultTolerant: o.faultTolerant,
    hideClientHeaders: o.hideClientHeaders,
    errorCode: o.errorCode,
    errorMessage: o.errorMessage,
    headers: o.headers,
    ...(o.namespace !== undefined ? { namespace: o.namespace } : {}),
    maxKeys: o.maxKeys ?? 100_000,
    ...(o.now !== undefined ? { now: o.now } : {}),
  };
}

/**
 * The `redis` option every Redis-backed plugin takes, and its validation (run once, at
 * construction). Only types are imported from ioredis here: the package itself is loaded when a
 * plugin creates a client of its own (see redis.ts), never by `require('tollgate')`.
 */
import type { Cluster, Redis } from 'ioredis';
import { parseShape, v, fail, type Validator } from '../core/config';
import { ConfigError } from '../core/errors';

/** An ioredis client: one server (`Redis`, also with Sentinel) or a Redis Cluster (`Cluster`). */
export type RedisClient = Redis | Cluster;

/** What every form of the `redis` option may also set. */
export interface RedisCommonOptions {
  /**
   * Milliseconds a command may take before it counts as failed (the plugin then acts as in an
   * outage: `faultTolerant`, cache `Bypass`). Applied by tollgate to every form, so the offline
   * queue of an app's own client never makes a request wait.
   * @defaultValue 500
   */
  commandTimeout?: number;
  /**
   * Milliseconds a plugin waits for its first connection before it treats Redis as down. Requests
   * that arrive while a fresh instance is connecting wait (at most this long) instead of being
   * let through uncounted or uncached; a connection that fails or drops is an outage at once.
   * Also the socket connect timeout of a client tollgate creates.
   * @defaultValue 3000
   */
  connectTimeout?: number;
  /** Prefix of every key tollgate writes. @defaultValue `'tollgate:'` */
  prefix?: string;
}

/**
 * How a plugin reaches Redis: exactly one of `url` (tollgate owns a client), `cluster` (tollgate
 * owns a Redis Cluster client) or `client` (the app's own ioredis `Redis` or `Cluster`, never
 * closed by tollgate).
 */
export type RedisOptions = RedisCommonOptions &
  (
    | {
        /** `redis://[[user]:password@]host:port[/db]` (`rediss://` for TLS). tollgate creates and owns the client. */
        url: string;
        cluster?: never;
        client?: never;
      }
    | {
        /**
         * Redis Cluster nodes to start from, `redis://[[user]:password@]host:port` (`rediss://` for
         * TLS); tollgate creates and owns an ioredis `Cluster`, which discovers the other nodes.
         */
        cluster: string[];
        url?: never;
        client?: never;
      }
    | {
        /** An existing ioredis client (`Redis`, with or without Sentinel, or `Cluster`); tollgate never closes it. */
        client: RedisClient;
        url?: never;
        cluster?: never;
      }
  );

/** The resolved `redis` option: exactly one of `url`, `cluster`, `client`. */
export interface RedisConfig {
  readonly url?: string;
  readonly cluster?: readonly string[];
  readonly client?: RedisClient;
  readonly commandTimeout: number;
  readonly connectTimeout: number;
  readonly prefix: string;
}

const REDIS_URL = /^rediss?:\/\/[^/?#]/;

/** A `redis://` or `rediss://` URL; never quoted in an error, since it may hold a password. */
const redisUrl: Validator<string> = {
  expected: 'a redis:// or rediss:// URL',
  optional: false,
  quote: false,
  check(value, path, where) {
    if (typeof value === 'string' && REDIS_URL.test(value)) {
      try {
        new URL(value);
        return value;
      } catch {
        // fall through to the error
      }
    }
    return fail(where, path, this.expected, value, false);
  },
};

const isRedisClient = (x: unknown): boolean =>
  typeof x === 'object' &&
  x !== null &&
  typeof (x as { eval?: unknown }).eval === 'function' &&
  typeof (x as { get?: unknown }).get === 'function' &&
  typeof (x as { status?: unknown }).status === 'string';

const shape = {
  url: v.optional(redisUrl),
  cluster: v.optional(v.array(redisUrl, { minLength: 1 })),
  client: v.optional(v.custom<RedisClient>('an ioredis client (Redis or Cluster)', isRedisClient)),
  commandTimeout: v.optional(v.integer({ min: 1 }), 500),
  connectTimeout: v.optional(v.integer({ min: 1 }), 3000),
  prefix: v.optional(v.string(), 'tollgate:'),
};

/** The validator for a plugin's `redis` option. */
export function redisOption(): Validator<RedisConfig> {
  return {
    expected: '{ url }, { cluster } or { client }',
    optional: false,
    quote: false,
    check(value, path, where) {
      const o = parseShape(where, shape, value, path);
      const forms = (['url', 'cluster', 'client'] as const).filter((k) => o[k] !== undefined);
      if (forms.length !== 1) {
        const found = forms.length === 0 ? 'none' : forms.map((k) => `"${k}"`).join(' and ');
        throw new ConfigError(`${where.plugin}: "${path}" must set exactly one of "url", "cluster" or "client", got ${found}`, path);
      }
      if (o.cluster !== undefined) {
        const schemes = new Set(o.cluster.map((u) => new URL(u).protocol));
        if (schemes.size > 1) {
          throw new ConfigError(`${where.plugin}: "${path}.cluster" must use one scheme for every node (all redis:// or all rediss://)`, `${path}.cluster`);
        }
      }
      return o;
    },
  };
}

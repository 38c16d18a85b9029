/**
 * The Redis connection every Redis-backed plugin uses: `{ url }` (tollgate owns a client) or
 * `{ client }` (an ioredis client the app already has).
 *
 * A client of our own is set up to fail fast: with ioredis's defaults a command issued while
 * Redis is down waits in the offline queue through the reconnect loop (up to 20 retries), which
 * turns an outage into hung requests. Here commands fail at once while disconnected, and each
 * command has a timeout, so a plugin can decide (fault tolerance, cache bypass) immediately.
 */
import Redis, { type Redis as RedisClient } from 'ioredis';
import { v, type Validator } from '../core/config';
import { describeError, getLogger } from '../core/logger';

/** How a plugin reaches Redis. */
export type RedisOptions =
  | {
      /** `redis://[:password@]host:port[/db]`. tollgate creates and owns the client. */
      url: string;
      /** Milliseconds a command may take before it counts as failed. @defaultValue 500 */
      commandTimeout?: number;
      /** Prefix of every key tollgate writes. @defaultValue `'tollgate:'` */
      prefix?: string;
    }
  | {
      /** An existing ioredis client; tollgate never closes it. */
      client: RedisClient;
      /** @defaultValue `'tollgate:'` */
      prefix?: string;
    };

/** The resolved Redis option. */
export interface RedisConfig {
  readonly url?: string;
  readonly client?: RedisClient;
  readonly commandTimeout: number;
  readonly prefix: string;
}

const isRedisClient = (x: unknown): boolean =>
  typeof x === 'object' && x !== null && typeof (x as { eval?: unknown }).eval === 'function' && typeof (x as { get?: unknown }).get === 'function';

/** The validator for a plugin's `redis` option. */
export function redisOption(): Validator<RedisConfig> {
  const withUrl = v.object({
    url: v.custom<string>('a redis:// or rediss:// URL', (x) => typeof x === 'string' && /^rediss?:\/\/./.test(x)),
    commandTimeout: v.optional(v.integer({ min: 1 }), 500),
    prefix: v.optional(v.string(), 'tollgate:'),
  });
  const withClient = v.object({
    client: v.custom<RedisClient>('an ioredis client', isRedisClient),
    prefix: v.optional(v.string(), 'tollgate:'),
  });
  return {
    expected: '{ url } or { client }',
    optional: false,
    quote: false,
    check(value, path, where) {
      if (typeof value === 'object' && value !== null && 'client' in value) {
        return { ...withClient.check(value, path, where), commandTimeout: 500 };
      }
      return withUrl.check(value, path, where);
    },
  };
}

/** A Redis connection for one plugin instance, with its outage reported once, not per request. */
export class RedisConnection {
  readonly client: RedisClient;
  readonly prefix: string;
  private readonly owned: boolean;
  private down = false;

  constructor(
    config: RedisConfig,
    private readonly owner: string,
  ) {
    this.prefix = config.prefix;
    if (config.client) {
      this.client = config.client;
      this.owned = false;
    } else {
      this.owned = true;
      this.client = new Redis(config.url!, {
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        commandTimeout: config.commandTimeout,
        connectTimeout: 1000,
        // How long disconnect() waits for a socket's 'close' before destroying it. ioredis's 2 s
        // default kept a process alive after close() when the socket had already died (Redis down).
        disconnectTimeout: 200,
        // Reconnect forever, but never faster than every 100 ms nor slower than every 2 s.
        retryStrategy: (times) => Math.min(100 * times, 2000),
        lazyConnect: false,
      });
      // ioredis emits 'error' on every failed reconnect; without a listener Node would crash.
      this.client.on('error', (err) => this.failed(err));
      this.client.on('ready', () => this.recovered());
    }
  }

  /** Whether the client can take commands now (false while disconnected). */
  get ready(): boolean {
    return this.client.status === 'ready';
  }

  /** Records a failed command or connection; logs the outage once. */
  failed(err: unknown): void {
    if (this.down) return;
    this.down = true;
    getLogger().warn(`${this.owner}: Redis is unavailable`, describeError(err));
  }

  /** Records a successful command or reconnect; logs the recovery once. */
  recovered(): void {
    if (!this.down) return;
    this.down = false;
    getLogger().info(`${this.owner}: Redis is available again`);
  }

  /** Closes the client if tollgate created it; resolves once its socket is gone. */
  async close(): Promise<void> {
    if (!this.owned || this.client.status === 'end') return;
    const client = this.client;
    await new Promise<void>((resolve) => {
      client.once('end', () => resolve());
      client.disconnect();
      // A client between reconnect attempts never emits 'end'; its socket is destroyed after
      // disconnectTimeout (200 ms), so waiting a little longer leaves nothing behind.
      setTimeout(resolve, 250).unref();
    });
  }
}

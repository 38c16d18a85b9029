/**
 * The Redis connection every Redis-backed plugin uses (rate-limit counters, cached responses,
 * login sessions): `{ url }` or `{ cluster }` (tollgate owns an ioredis client) or `{ client }` (an
 * ioredis `Redis` or `Cluster` the app already has).
 *
 * Three rules, whatever the form:
 * - **Connecting is not an outage.** A command issued while the first connection is being made
 *   waits for it, at most `connectTimeout`; a fresh instance therefore counts and caches from its
 *   first request instead of letting requests through uncounted.
 * - **An outage answers at once.** Once a connection has failed or dropped, a command fails
 *   immediately while the client is not ready (ioredis's defaults would queue it through the
 *   reconnect loop), and every command is bounded by `commandTimeout`; the plugin then decides
 *   (`faultTolerant`, cache `Bypass`). The outage is logged once, and its end once.
 * - **`close()` always settles**, promptly, even while Redis is down and the client reconnecting.
 *
 * ioredis is loaded only when a plugin creates a client of its own, so `require('tollgate')` does
 * not load it. A Redis Cluster needs nothing more here: ioredis routes each command by its keys'
 * hash slot and follows MOVED/ASK redirections and failovers; commands that touch several keys
 * must keep them in one slot (a hash tag), which is the caller's part.
 */
import type { ClusterOptions, RedisOptions as IORedisOptions } from 'ioredis';
import { StoreError } from '../core/errors';
import type { Logger } from '../core/logger';
import { deadline, OutageLog } from './outage';
import type { RedisClient, RedisConfig } from './redis-options';

export { redisOption } from './redis-options';
export type { RedisClient, RedisCommonOptions, RedisConfig, RedisOptions } from './redis-options';

/** A client that disconnects and has not ended yet emits `end`; never wait longer than this for it. */
const CLOSE_WAIT_MS = 300;

/** Reconnect forever, never faster than every 100 ms nor slower than every 2 s. */
const retry = (times: number): number => Math.min(100 * times, 2000);

/** The socket options of a client of tollgate's own: fail fast, never hang. */
function socketOptions(config: RedisConfig): IORedisOptions {
  return {
    connectTimeout: config.connectTimeout,
    // How long disconnect() waits for a socket's 'close' before destroying it. ioredis's 2 s
    // default kept a process alive after close() when the socket had already died (Redis down).
    disconnectTimeout: 200,
  };
}

/** Creates the client tollgate owns for `{ url }` or `{ cluster }`; loads ioredis on first use. */
function createClient(config: RedisConfig): RedisClient {
  const ioredis = require('ioredis') as typeof import('ioredis');
  if (config.url !== undefined) {
    return new ioredis.Redis(config.url, {
      ...socketOptions(config),
      // No offline queue and no retries: a command issued while Redis is down fails at once
      // rather than waiting through the reconnect loop (up to 20 retries by default).
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: config.commandTimeout,
      retryStrategy: retry,
    });
  }
  const urls = config.cluster!.map((u) => new URL(u));
  const first = urls[0]!;
  const redisOptions: IORedisOptions = {
    ...socketOptions(config),
    ...(first.username ? { username: decodeURIComponent(first.username) } : {}),
    ...(first.password ? { password: decodeURIComponent(first.password) } : {}),
    // rediss://: TLS to every node. Managed clusters that announce nodes by IP need the host
    // name kept for certificate checks; pass your own Cluster client for such settings.
    ...(first.protocol === 'rediss:' ? { tls: {} } : {}),
  };
  const options: ClusterOptions = {
    redisOptions,
    clusterRetryStrategy: retry,
    slotsRefreshTimeout: config.connectTimeout,
  };
  const nodes = urls.map((u) => ({ host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(u.port || 6379) }));
  return new ioredis.Cluster(nodes, options);
}

/**
 * A Redis connection for one plugin instance: runs commands under the rules above and reports
 * outages once. Plugins get one from their `redis` option and never touch the client's state.
 *
 * @example
 * ```ts
 * const connection = new RedisConnection(config.redis, 'sessions');
 * const raw = await connection.run((client) => client.getBuffer(`${connection.prefix}session:${id}`));
 * await connection.close();
 * ```
 */
export class RedisConnection {
  /** The ioredis client (`Redis` or `Cluster`); send commands through {@link run}, not directly. */
  readonly client: RedisClient;
  /** The key prefix from the option (`'tollgate:'` by default). */
  readonly prefix: string;
  /** Whether the client is a Redis Cluster (every key a command touches must share a hash slot). */
  readonly isCluster: boolean;
  private readonly owned: boolean;
  private readonly outage: OutageLog;
  private readonly commandTimeout: number;
  private readonly connectTimeout: number;
  /** Whether tollgate bounds each command itself (ioredis's `commandTimeout` covers only our single-node client). */
  private readonly bounded: boolean;
  /** Pending while the first connection is being made: true once connected, false if it failed. */
  private first: Promise<boolean> | undefined;
  private endFirst: ((ok: boolean, err?: unknown) => void) | undefined;
  private closed = false;

  /**
   * @param owner - the plugin, as the outage log names it (`rateLimit: Redis is unavailable`)
   * @param logger - the plugin's own logger, if it was given one
   */
  constructor(config: RedisConfig, owner: string, logger?: Logger) {
    this.prefix = config.prefix;
    this.commandTimeout = config.commandTimeout;
    this.outage = new OutageLog(`${owner}: Redis`, logger);
    this.owned = config.client === undefined;
    this.client = config.client ?? createClient(config);
    this.isCluster = (this.client as { isCluster?: boolean }).isCluster === true;
    this.bounded = !this.owned || this.isCluster;
    if (this.owned) {
      // ioredis emits 'error' on every failed (re)connect; without a listener it prints each one.
      this.client.on('error', (err: unknown) => this.outage.failed(err));
    }
    this.connectTimeout = config.connectTimeout;
    // A lazyConnect client (status 'wait') starts connecting at its first command, in run().
    if (this.client.status !== 'wait') this.first = this.awaitFirstConnection(config.connectTimeout);
  }

  /**
   * Whether a command may be sent now or once the first connection (still being made) is up;
   * false during an outage and after {@link close}. A plugin that must answer synchronously
   * (a cache deciding to bypass) checks this.
   */
  get usable(): boolean {
    const status = this.client.status;
    return !this.closed && (status === 'ready' || status === 'wait' || this.first !== undefined);
  }

  /**
   * Runs one command (or a pipeline, or a script) on the client. Waits for the first connection
   * if it is still being made; fails at once with a `StoreError` while Redis is down; fails with a
   * `StoreError` (the client's error as `cause`) when the command fails or takes longer than
   * `commandTimeout`. Records the outage or recovery either way.
   */
  run<T>(command: (client: RedisClient) => Promise<T>): Promise<T> {
    const status = this.client.status;
    if (status === 'ready') return this.exec(command);
    if (status === 'wait' && !this.closed) {
      // An app's lazyConnect client connects on its first command: that is now.
      this.first ??= this.awaitFirstConnection(this.connectTimeout);
      this.client.connect().catch(() => {});
    }
    const first = this.first;
    if (first !== undefined) return first.then((ok) => (ok ? this.exec(command) : this.notConnected()));
    return this.notConnected();
  }

  /** Closes the client if tollgate created it; settles within a few hundred ms whatever Redis does. */
  async close(): Promise<void> {
    this.closed = true;
    this.endFirst?.(false, new StoreError('the plugin was closed'));
    if (!this.owned) return;
    const client = this.client;
    const live = client.status === 'connecting' || client.status === 'connect' || client.status === 'ready';
    client.disconnect();
    // A client between reconnect attempts has no socket: disconnect() only cancels the next
    // attempt and no 'end' follows. One with a socket emits 'end' once it is closed.
    if (!live) return;
    await new Promise<void>((resolve) => {
      // Not unref'd: the process must not exit while the app awaits close().
      const timer = setTimeout(done, CLOSE_WAIT_MS);
      function done(): void {
        clearTimeout(timer);
        client.off('end', done);
        resolve();
      }
      client.once('end', done);
    });
  }

  private exec<T>(command: (client: RedisClient) => Promise<T>): Promise<T> {
    let pending: Promise<T>;
    try {
      pending = command(this.client);
    } catch (err) {
      pending = Promise.reject(err);
    }
    if (this.bounded) pending = deadline(pending, this.commandTimeout, 'Redis');
    return pending.then(
      (value) => {
        this.outage.recovered();
        return value;
      },
      (err: unknown) => {
        this.outage.failed(err);
        throw err instanceof StoreError ? err : new StoreError('Redis command failed', { cause: err });
      },
    );
  }

  private notConnected<T>(): Promise<T> {
    const err = new StoreError(this.closed ? 'the plugin was closed' : 'Redis is not connected');
    if (!this.closed) this.outage.failed(err);
    return Promise.reject(err);
  }

  /**
   * The first connection, as a promise that settles once: true when the client is ready, false
   * when its first attempt fails, the connection ends, `connectTimeout` passes, or the plugin is
   * closed. Undefined when there is nothing to wait for (ready already, or ended).
   */
  private awaitFirstConnection(timeoutMs: number): Promise<boolean> | undefined {
    const client = this.client;
    // Ready: nothing to wait for. Ended, or reconnecting after a connection that failed or
    // dropped (an app's client, before this plugin existed): that is an outage, not a start.
    if (client.status !== 'wait' && client.status !== 'connecting' && client.status !== 'connect') return undefined;
    return new Promise<boolean>((resolve) => {
      const onReady = () => end(true);
      const onError = (err: unknown) => end(false, err);
      const onEnd = () => end(false, new StoreError('the Redis connection ended'));
      const timer = setTimeout(() => end(false, new StoreError(`Redis did not connect within ${timeoutMs} ms`)), timeoutMs);
      // The requests waiting keep the process alive; a bare plugin does not.
      timer.unref();
      const end = (ok: boolean, err?: unknown): void => {
        clearTimeout(timer);
        client.off('ready', onReady);
        client.off('error', onError);
        client.off('end', onEnd);
        this.first = undefined;
        this.endFirst = undefined;
        if (!ok && !this.closed) this.outage.failed(err);
        resolve(ok);
      };
      this.endFirst = end;
      client.once('ready', onReady);
      client.once('error', onError);
      client.once('end', onEnd);
    });
  }
}

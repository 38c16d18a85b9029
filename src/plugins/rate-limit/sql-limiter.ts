/**
 * The `cluster` policy: counters in the service's own SQL database (PostgreSQL or MySQL/MariaDB),
 * like Kong's `cluster` policy, through rate-limiter-flexible's `RateLimiterPostgres` and
 * `RateLimiterMySQL`. rate-limiter-flexible is loaded when such a plugin is built, never by
 * `require('tollgate')`.
 *
 * Each window is one rate-limiter-flexible limiter over one table; each consume is one atomic
 * upsert (`INSERT … ON CONFLICT DO UPDATE … RETURNING` on PostgreSQL, `INSERT … ON DUPLICATE KEY
 * UPDATE` in a transaction on MySQL), so one window admits exactly its limit under any
 * concurrency. Its windows start at each key's first hit, so the period's start is put into the
 * key, which gives Kong's calendar windows (a key is never read for the next period).
 *
 * rate-limiter-flexible consumes each limiter on its own (no all-or-nothing across windows, its
 * issue #150). The windows are therefore consumed one after another, shortest first, stopping at
 * the first that refuses, and the shorter windows that had counted a refused request are given
 * it back (`reward`). Because calendar windows nest (a minute lies within its hour), that
 * decides exactly as the Redis policy's atomic script: a request is refused only when a window
 * is at its limit with admitted requests. What remains (docs/scaling.md): a refused request stays
 * counted in the window that refused it (shown capped at the limit), and an admitted request
 * takes one round trip per window.
 *
 * @see https://github.com/animir/node-rate-limiter-flexible/wiki/PostgreSQL
 * @see https://github.com/animir/node-rate-limiter-flexible/wiki/MySQL
 */
import { createHash } from 'node:crypto';
import type { RateLimiterAbstract, RateLimiterRes as Res } from 'rate-limiter-flexible';
import { StoreError } from '../../core/errors';
import type { Logger } from '../../core/logger';
import { deadline, OutageLog } from '../../stores/outage';
import type { SqlConfig } from '../../stores/sql';
import type { Decision, Limiter } from './limiter';
import type { Window } from './windows';

/** A row outlives its period by this much, for instances whose clocks run slightly behind. */
const EXPIRY_SLACK_MS = 5_000;
/** After the table could not be made ready, requests fail at once for this long before a new try. */
const RETRY_MS = 1_000;
/** Expired rows are deleted this often (rate-limiter-flexible's own sweep, run on our timer). */
const SWEEP_MS = 5 * 60_000;

/**
 * Part of a row key as it is when that is safe, else a hash. MySQL's default collations compare
 * case- and accent-insensitively and ignore trailing spaces, and its `utf8` cannot hold every
 * character: only lower-case ASCII survives as it is. A hash starts with `#`, which no kept part
 * does, so the two can never meet.
 */
function part(value: string): string {
  return /^[a-z0-9._:/-]{1,100}$/.test(value) ? value : `#${createHash('sha256').update(value).digest('hex').slice(0, 32)}`;
}

type Store = RateLimiterAbstract & {
  /** rate-limiter-flexible's sweep of rows that expired before `before` (ms); never rejects. */
  clearExpired(before: number): Promise<void>;
};

/** Counts requests in the app's SQL database, window by window. */
export class SqlLimiter implements Limiter {
  private readonly rlf: typeof import('rate-limiter-flexible');
  private readonly base: string;
  private readonly outage: OutageLog;
  private stores: Store[] | undefined;
  /** The table being made ready (or ready); undefined before the first try and after a failure. */
  private starting: Promise<Store[]> | undefined;
  private retryAt = 0;
  /** Whether the table has failed to become ready once: later tries do not make requests wait long. */
  private failedOnce = false;
  private startedAt = 0;
  private budget = 0;
  private sweep: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly windows: readonly Window[],
    private readonly config: SqlConfig,
    namespace: string,
    logger?: Logger,
  ) {
    this.rlf = require('rate-limiter-flexible') as typeof import('rate-limiter-flexible');
    this.base = part(namespace);
    this.outage = new OutageLog(`rateLimit: ${config.type === 'pg' ? 'PostgreSQL' : 'MySQL'}`, logger);
    // Start now, so that the table is usually ready before the first request.
    this.ready().catch(() => {});
  }

  /**
   * Counts one request in every window or refuses it. Waits for the table on a fresh instance
   * (at most `connectTimeout`); rejects with a `StoreError` (cause kept) when the database fails
   * or is slower than `commandTimeout`.
   */
  async hit(key: string, now: number): Promise<Decision> {
    // The periods are fixed before any await: Window caches the current period and another
    // request may move it while this one waits.
    const n = this.windows.length;
    const keys = new Array<string>(n);
    const limits = new Array<number>(n);
    const seconds = new Array<number>(n);
    const id = part(key);
    for (let i = 0; i < n; i++) {
      const w = this.windows[i]!.at(now);
      keys[i] = `${this.base}:${id}:${w.start}`;
      limits[i] = w.limit;
      seconds[i] = (w.end - now + EXPIRY_SLACK_MS) / 1000;
    }
    const stores = this.stores ?? (await this.ready());
    const used = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      let res: Res;
      try {
        res = await this.query(stores[i]!.consume(keys[i]!, 1, { customDuration: seconds[i] }));
      } catch (err) {
        if (!(err instanceof this.rlf.RateLimiterRes)) {
          // Best effort: the windows before this one counted a request that is not decided.
          void this.giveBack(stores, keys, seconds, i).catch(() => {});
          throw this.failed(err);
        }
        // Refused by window i: the shorter windows counted this request; give it back. Window i
        // keeps it: it is at its limit for the rest of its period, which the others lie within.
        for (let j = 0; j < i; j++) used[j] = used[j]! - 1;
        used[i] = limits[i]!;
        try {
          await Promise.all([this.giveBack(stores, keys, seconds, i), this.usage(stores, keys, limits, used, i + 1)]);
        } catch (e) {
          throw this.failed(e);
        }
        this.outage.recovered();
        return { allowed: false, used };
      }
      used[i] = Math.min(res.consumedPoints, limits[i]!);
    }
    this.outage.recovered();
    return { allowed: true, used };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.sweep !== undefined) clearInterval(this.sweep);
  }

  /** The windows after `from`, which a refused request never reached, as they stand (for the headers). */
  private async usage(stores: Store[], keys: string[], limits: number[], used: number[], from: number): Promise<void> {
    const rest = [];
    for (let j = from; j < keys.length; j++) {
      rest.push(
        this.query(stores[j]!.get(keys[j]!)).then((res) => {
          used[j] = Math.min(res?.consumedPoints ?? 0, limits[j]!);
        }),
      );
    }
    await Promise.all(rest);
  }

  /** Gives back the request counted in the windows before `upTo`. */
  private async giveBack(stores: Store[], keys: string[], seconds: number[], upTo: number): Promise<void> {
    const refunds = [];
    for (let j = 0; j < upTo; j++) refunds.push(this.query(stores[j]!.reward(keys[j]!, 1, { customDuration: seconds[j] })));
    await Promise.all(refunds);
  }

  private query<T>(pending: Promise<T>): Promise<T> {
    return deadline(pending, this.config.commandTimeout, 'the database');
  }

  private failed(err: unknown): StoreError {
    this.outage.failed(err);
    return err instanceof StoreError ? err : new StoreError('the rate-limit database query failed', { cause: err });
  }

  /**
   * The limiters, once their table exists. The first call starts `CREATE TABLE IF NOT EXISTS`;
   * callers wait for it, but no longer than `connectTimeout` after it started (`commandTimeout`
   * for a new try after a failure). An attempt that failed or ran out of time is an outage:
   * calls fail at once for a second, then the next one tries again.
   */
  private ready(): Promise<Store[]> {
    if (this.stores !== undefined) return Promise.resolve(this.stores);
    const now = Date.now();
    if (this.starting === undefined) {
      if (this.closed || now < this.retryAt) return Promise.reject(this.failed(new StoreError('the rate-limit table is not ready')));
      const attempt = this.createStores().then(
        (stores) => {
          // Even an attempt given up on may succeed late: its limiters are as good as any.
          this.stores ??= stores;
          if (!this.closed && this.sweep === undefined) {
            this.sweep = setInterval(() => void stores[0]!.clearExpired(Date.now() - EXPIRY_SLACK_MS), SWEEP_MS);
            this.sweep.unref();
          }
          return stores;
        },
        (err: unknown) => {
          if (this.starting === attempt) this.giveUp();
          throw this.failed(err);
        },
      );
      attempt.catch(() => {});
      this.starting = attempt;
      this.startedAt = now;
      this.budget = this.failedOnce ? this.config.commandTimeout : this.config.connectTimeout;
    }
    const left = this.startedAt + this.budget - now;
    if (left <= 0) {
      this.giveUp();
      return Promise.reject(this.failed(new StoreError('the rate-limit table is not ready')));
    }
    const starting = this.starting;
    return deadline(starting, left, 'the database').catch((err: unknown) => {
      if (this.starting === starting && this.stores === undefined) this.giveUp();
      throw this.failed(err);
    });
  }

  /** Ends the current attempt at making the table ready: fail at once for a while, then try again. */
  private giveUp(): void {
    this.starting = undefined;
    this.failedOnce = true;
    this.retryAt = Date.now() + RETRY_MS;
  }

  /** One limiter per window, over one table: the first creates the table, the others reuse it. */
  private createStores(): Promise<Store[]> {
    const { pool, type, tableName, database } = this.config;
    const make = (w: Window, tableCreated: boolean, cb?: (err?: unknown) => void): Store => {
      const options = {
        storeClient: pool,
        storeType: 'pool',
        tableName,
        tableCreated,
        // Our own sweep (above), on one timer we clear in close(); theirs would run forever.
        clearExpiredByTimeout: false,
        keyPrefix: w.name,
        points: w.limit,
        duration: 0,
      };
      const Limiter = type === 'pg' ? this.rlf.RateLimiterPostgres : this.rlf.RateLimiterMySQL;
      return new Limiter(type === 'pg' ? options : { ...options, dbName: database }, cb) as unknown as Store;
    };
    // PostgreSQL's CREATE TABLE IF NOT EXISTS is not safe under concurrency: instances starting
    // together may lose the race with "already exists" (42P07, 42710 for the row type, or 23505,
    // the only one rate-limiter-flexible forgives). A second try then finds the table.
    const create = (): Promise<Store> =>
      new Promise<Store>((resolve, reject) => {
        const first = make(this.windows[0]!, false, (err) => (err ? reject(err) : resolve(first)));
      });
    return create()
      .catch(() => create())
      .then((first) => [first, ...this.windows.slice(1).map((w) => make(w, true))]);
  }
}

/**
 * The `redis` policy: counters in Redis, shared by every instance of the service.
 *
 * One Lua script per request reads every window's counter and increments them all only if none
 * is at its limit. Redis runs a script atomically, so N instances and any number of concurrent
 * requests admit exactly the limit, and a request refused by one window does not use up the others.
 *
 * Our own script rather than rate-limiter-flexible's `RateLimiterRedis`: its script handles one key
 * (one window) and increments even when the request is over the limit (its issue #286), and
 * `RateLimiterUnion` consumes every limiter independently, so a request refused by the minute
 * window would still use up the hour (no atomic all-or-nothing across limiters, its issue #150).
 * Its windows also start at each key's first hit rather than on Kong's UTC calendar.
 *
 * @see https://redis.io/docs/latest/develop/interactive/programmability/eval-intro/ — scripts run atomically
 */
import { createHash } from 'node:crypto';
import { StoreError } from '../../core/errors';
import type { RedisConnection } from '../../stores/redis';
import type { Decision, Limiter } from './limiter';
import type { Window } from './windows';

/**
 * KEYS: one counter per window. ARGV: the limits, then each key's time to live (ms).
 * Returns `{allowed (1|0), used_1, …, used_n}` where `used` includes this request when allowed.
 */
const SCRIPT = `
local n = #KEYS
local counts = redis.call('MGET', unpack(KEYS))
local out = {1}
for i = 1, n do
  local c = tonumber(counts[i]) or 0
  out[i + 1] = c
  if c >= tonumber(ARGV[i]) then out[1] = 0 end
end
if out[1] == 1 then
  for i = 1, n do
    local c = redis.call('INCR', KEYS[i])
    if c == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[n + i]) end
    out[i + 1] = c
  end
end
return out
`;
const SHA = createHash('sha1').update(SCRIPT).digest('hex');

/**
 * A counter key outlives its period by this much, so an instance whose clock runs slightly behind
 * still finds the count rather than starting the period again. The period is in the key, so a
 * key that lives longer is never read for the next period.
 */
const EXPIRY_SLACK_MS = 5_000;

/**
 * Requests that arrive while the client is still making its first connection are let through (or
 * refused) like in an outage, but not reported as one unless the connection takes this long.
 */
const STARTUP_GRACE_MS = 2_000;

type Eval = (script: string, numKeys: number, ...args: (string | number)[]) => Promise<unknown>;

/** Counts requests in Redis with one atomic script per request. */
export class RedisLimiter implements Limiter {
  private readonly base: string;
  private readonly createdAt = Date.now();
  private wasReady = false;

  /**
   * @param timeoutMs - a deadline applied here, for a client the app passed in (tollgate's own
   *   client has a command timeout); `undefined` to rely on the client
   */
  constructor(
    private readonly windows: readonly Window[],
    private readonly connection: RedisConnection,
    namespace: string,
    private readonly timeoutMs: number | undefined,
  ) {
    this.base = `${connection.prefix}ratelimit:${namespace}:`;
  }

  /** Counts one request; rejects with a `StoreError` (cause kept) when Redis fails or is slow. */
  async hit(key: string, now: number): Promise<Decision> {
    try {
      const decision = await this.count(key, now);
      this.wasReady = true;
      this.connection.recovered();
      return decision;
    } catch (err) {
      // The connection logs an outage once, not per request.
      if (this.wasReady || Date.now() - this.createdAt > STARTUP_GRACE_MS) this.connection.failed(err);
      throw err instanceof StoreError ? err : new StoreError('Redis failed', { cause: err });
    }
  }

  private async count(key: string, now: number): Promise<Decision> {
    // A client that is reconnecting would queue the command (or, without an offline queue, fail
    // it); either way the answer must come now, not after the reconnect loop.
    if (!this.connection.ready) throw new StoreError('Redis is not connected');
    const n = this.windows.length;
    const args = new Array<string | number>(3 * n);
    // The hash tag keeps every window of one client in one Redis Cluster slot, as a script needs.
    const tagged = `${this.base}{${key}}:`;
    for (let i = 0; i < n; i++) {
      const w = this.windows[i]!.at(now);
      args[i] = `${tagged}${w.name}:${w.start}`;
      args[n + i] = w.limit;
      args[2 * n + i] = w.end - now + EXPIRY_SLACK_MS;
    }
    const reply = await this.deadline(this.run(n, args));
    if (!Array.isArray(reply) || reply.length !== n + 1) throw new StoreError('unexpected reply from the rate-limit script');
    return { allowed: reply[0] === 1, used: reply.slice(1) as number[] };
  }

  private async run(n: number, args: (string | number)[]): Promise<unknown> {
    const client = this.connection.client as unknown as { evalsha: Eval; eval: Eval };
    try {
      return await client.evalsha(SHA, n, ...args);
    } catch (err) {
      // A Redis that restarted (or was flushed) forgot the script: send it once more in full.
      if (err instanceof Error && err.message.startsWith('NOSCRIPT')) return client.eval(SCRIPT, n, ...args);
      throw err;
    }
  }

  private deadline<T>(pending: Promise<T>): Promise<T> {
    const ms = this.timeoutMs;
    if (ms === undefined) return pending;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new StoreError(`Redis did not answer within ${ms} ms`)), ms);
      pending.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  }

  async close(): Promise<void> {
    await this.connection.close();
  }
}

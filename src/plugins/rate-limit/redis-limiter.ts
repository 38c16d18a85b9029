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
import type { RedisClient, RedisConnection } from '../../stores/redis';
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

type Eval = (script: string, numKeys: number, ...args: (string | number)[]) => Promise<unknown>;

/**
 * A counter key outlives its period by this much, so an instance whose clock runs slightly behind
 * still finds the count rather than starting the period again. The period is in the key, so a
 * key that lives longer is never read for the next period.
 */
const EXPIRY_SLACK_MS = 5_000;

/** An identifier usable as a hash tag as it is: not empty, no brace, not starting with `#`. */
const PLAIN_TAG = /^[^#{}][^{}]*$/;

/**
 * The Redis Cluster hash tag of a client's counters, so that every window's key (and so the
 * script) lands in one slot. Redis hashes only what is between the first `{` and the next `}`;
 * an identifier with a brace (a header value, a consumer id) or an empty one would break that,
 * so it is replaced by its SHA-256, marked by a `#` that no plain tag starts with.
 *
 * @see https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#hash-tags
 */
export function hashTag(key: string): string {
  return PLAIN_TAG.test(key) ? key : `#${createHash('sha256').update(key).digest('base64url')}`;
}

/** Counts requests in Redis with one atomic script per request. */
export class RedisLimiter implements Limiter {
  private readonly base: string;

  constructor(
    private readonly windows: readonly Window[],
    private readonly connection: RedisConnection,
    namespace: string,
  ) {
    this.base = `${connection.prefix}ratelimit:${namespace}:`;
  }

  /**
   * Counts one request. Waits while the first connection is being made; rejects with a
   * `StoreError` (cause kept) when Redis is down, fails or is slow.
   */
  hit(key: string, now: number): Promise<Decision> {
    const n = this.windows.length;
    const args = new Array<string | number>(3 * n);
    const tagged = `${this.base}{${hashTag(key)}}:`;
    for (let i = 0; i < n; i++) {
      const w = this.windows[i]!.at(now);
      args[i] = `${tagged}${w.name}:${w.start}`;
      args[n + i] = w.limit;
      args[2 * n + i] = w.end - now + EXPIRY_SLACK_MS;
    }
    return this.connection.run((client) => run(client, n, args)).then((reply) => {
      if (!Array.isArray(reply) || reply.length !== n + 1) throw new StoreError('unexpected reply from the rate-limit script');
      return { allowed: reply[0] === 1, used: reply.slice(1) as number[] };
    });
  }

  async close(): Promise<void> {
    await this.connection.close();
  }
}

/**
 * Runs the script by its SHA; a Redis that never saw it (a restart, a flush, or another node of a
 * cluster: each keeps its own script cache) answers NOSCRIPT, and the script is sent in full once.
 */
async function run(client: RedisClient, n: number, args: (string | number)[]): Promise<unknown> {
  const c = client as unknown as { evalsha: Eval; eval: Eval };
  try {
    return await c.evalsha(SHA, n, ...args);
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('NOSCRIPT')) return c.eval(SCRIPT, n, ...args);
    throw err;
  }
}

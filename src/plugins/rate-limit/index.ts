/**
 * `rateLimit()`: Kong's rate-limiting plugin as middleware.
 *
 * @see https://developer.konghq.com/plugins/rate-limiting/
 */
import { createHash } from 'node:crypto';
import type { RequestContext } from '../../core/context';
import { takeLogger } from '../../core/config';
import { RateLimitError } from '../../core/errors';
import { routeIdentity } from '../../core/path';
import { definePlugin, type Plugin } from '../../core/plugin';
import { RedisConnection } from '../../stores/redis';
import { rateLimitHeaders } from './headers';
import { identifierFor } from './identifier';
import type { Decision, Limiter } from './limiter';
import { LocalLimiter } from './local-limiter';
import { parseRateLimitOptions, type RateLimitConfig, type RateLimitOptions } from './options';
import { RedisLimiter } from './redis-limiter';
import { SqlLimiter } from './sql-limiter';
import { WINDOW_NAMES, Window } from './windows';

export type { RateLimitOptions, RateLimitConfig, LimitBy, HeaderStyle } from './options';

/** The plugin's private per-request state: the headers chosen in `access`, sent in `headerFilter`. */
interface RateLimitState {
  headers?: string[];
}

/** The rate-limit plugin, plus `close()` to release what it holds. */
export interface RateLimitPlugin extends Plugin<RateLimitConfig, RateLimitState> {
  /**
   * Closes the Redis client tollgate created for this plugin (never one passed as `{ client }`,
   * never the app's SQL pool); settles within a few hundred ms, also while Redis is down.
   */
  close(): Promise<void>;
}

/**
 * What identifies a plugin by what it counts: its windows and limits and how it picks the client.
 * Every instance of the service builds the same plugin from the same options, so this is the same
 * in every process, whatever else was built before it.
 */
function fingerprint(config: RateLimitConfig): string {
  return createHash('sha256')
    .update(JSON.stringify([config.limits, config.limitBy, config.headerName ?? null, config.path ?? null]))
    .digest('base64url')
    .slice(0, 16);
}

/**
 * The route part of a counter key. Kong scopes counters to the route or service a plugin is
 * attached to; here that is the route the framework matched (see `RequestView.route`), folded so
 * that spellings one router treats alike (`/API`, `/api/`) count together. Encoded, so the `:`
 * that separates it from the client's identifier cannot occur in it.
 */
const routeOf = (ctx: RequestContext): string => encodeURIComponent(routeIdentity(ctx.request.route));

/**
 * Limits how many requests a client may make per second, minute, hour, day, month and year, with
 * counters in memory (`policy: 'local'`), shared through Redis (`policy: 'redis'`) or through the
 * app's SQL database (`policy: 'cluster'`).
 *
 * Every response carries `X-RateLimit-Limit-<Window>` / `X-RateLimit-Remaining-<Window>` for each
 * window and `RateLimit-Limit` / `-Remaining` / `-Reset` for the window closest to its limit (or
 * the IETF draft headers, see `headers`). A request over any window gets `errorCode` (429) with
 * `{"message":"API rate limit exceeded"}` and `Retry-After`, and is counted in no window.
 *
 * @example
 * ```ts
 * app.use('/httpbin', gateway(rateLimit({ minute: 5, policy: 'local' })));
 * // with Redis, shared by every instance:
 * rateLimit({ minute: 100, hour: 1000, limitBy: 'consumer', policy: 'redis', redis: { url: 'redis://127.0.0.1:6379' } });
 * ```
 * @see https://developer.konghq.com/plugins/rate-limiting/
 */
export function rateLimit(options: RateLimitOptions): RateLimitPlugin {
  const { logger, rest } = takeLogger({ plugin: 'rateLimit' }, options);
  const config = parseRateLimitOptions(rest);
  const windows = WINDOW_NAMES.filter((name) => config.limits[name] !== undefined).map((name) => new Window(name, config.limits[name]!));
  const identify = identifierFor(config);
  const { headers: style, hideClientHeaders, faultTolerant, now: clock = Date.now } = config;
  // Built once: refusing a request is on the hot path of a flood.
  const refusal = new RateLimitError(config.errorMessage, { status: config.errorCode });

  // With a namespace, one budget wherever the plugin is mounted; without, one per route.
  const counterKey: (ctx: RequestContext, client: string) => string =
    config.namespace !== undefined ? (_ctx, client) => client : (ctx, client) => `${routeOf(ctx)}:${client}`;

  let limiter: Limiter;
  if (config.policy === 'redis') {
    const redis = config.redis!;
    const connection = new RedisConnection(redis, 'rateLimit', logger);
    limiter = new RedisLimiter(windows, connection, config.namespace ?? fingerprint(config));
  } else if (config.policy === 'cluster') {
    limiter = new SqlLimiter(windows, config.cluster!, config.namespace ?? fingerprint(config), logger);
  } else {
    // Counters of this plugin instance alone: they go when the plugin goes.
    limiter = new LocalLimiter(windows, config.maxKeys);
  }

  const decide = (ctx: RequestContext, state: RateLimitState, decision: Decision, now: number, key: string): void => {
    if (!hideClientHeaders) state.headers = rateLimitHeaders(style, windows, decision, now, key);
    if (!decision.allowed) ctx.fail(refusal);
  };

  const storeFailed = (ctx: RequestContext, err: unknown): void => {
    // Kong: with fault tolerance the request goes through without headers (usage is unknown).
    // The limiter has reported the outage (once, not per request); a 500 is not logged again.
    if (!faultTolerant) ctx.fail(err);
  };

  const plugin = definePlugin<RateLimitConfig, RateLimitState>({
    name: 'rate-limiting',
    priority: 910,
    config,
    access(ctx, state) {
      const key = identify(ctx);
      const now = clock();
      const result = limiter.hit(counterKey(ctx, key), now);
      if (!(result instanceof Promise)) return decide(ctx, state, result, now, key);
      return result.then(
        (decision) => decide(ctx, state, decision, now, key),
        (err: unknown) => storeFailed(ctx, err),
      );
    },
    headerFilter(ctx, state) {
      const h = state.headers;
      if (h === undefined) return;
      const res = ctx.response;
      for (let i = 0; i < h.length; i += 2) res.setHeader(h[i]!, h[i + 1]!);
    },
  });
  return { ...plugin, close: () => limiter.close() };
}

/**
 * The proxy-cache plugin: Kong's proxy-cache as middleware, in memory (lru-cache) or in Redis.
 *
 * Flow, as in Kong: `access` computes the key and looks it up; a fresh entry ends the request there
 * (`Hit`); otherwise the request goes on to the app's handler or the upstream (`Miss`, or
 * `Refresh` for a stale entry) and `headerFilter`/`bodyFilter` capture the response while it is
 * written, storing it if it qualifies (else the status becomes `Bypass`).
 *
 * @see https://developer.konghq.com/plugins/proxy-cache/ — Kong's plugin
 */
import type { OutgoingHttpHeader } from 'node:http';
import { takeLogger } from '../../core/config';
import type { RequestContext } from '../../core/context';
import { internal } from '../../core/gateway-context';
import { settle } from '../../core/phases';
import { definePlugin, type Plugin } from '../../core/plugin';
import { MemoryResponseStore } from '../../stores/memory-response-store';
import { RedisResponseStore } from '../../stores/redis-response-store';
import type { CachedResponse, ResponseStore } from '../../stores/response-store';
import { planStorage, storableHeaders, type StoragePlan } from './cacheability';
import { cacheKey } from './cache-key';
import { notModified, notModifiedHeaders } from './conditional';
import { Flights, type Flight } from './flights';
import { ageOf, isFresh, requestDirectives, varyMatches, type RequestDirectives } from './freshness';
import { mediaRanges, parseProxyCacheOptions, type ProxyCacheConfig, type ProxyCacheOptions } from './options';
import { publishVerdict } from './verdict';

export type { ProxyCacheOptions, ProxyCacheConfig, CacheableMethod } from './options';
export { proxyCacheAdmin } from './admin';
export type { ProxyCacheAdminOptions } from './admin';

/** The value of `X-Cache-Status`. */
export type CacheStatus = 'Miss' | 'Hit' | 'Refresh' | 'Bypass';

/** @internal The plugin's per-request state. */
export interface ProxyCacheState {
  status?: CacheStatus;
  /** The key, once the request was looked up (sent as `X-Cache-Key`). */
  key?: string;
  /** Whether the response is a candidate for storing. */
  capture?: boolean;
  /** The flight this request leads, until it is settled. */
  flight?: Flight;
  /** The request headers when the request was looked up, for the response's `Vary`. */
  requestHeaders?: Readonly<Record<string, string | string[] | undefined>>;
  plan?: StoragePlan;
  /** The captured response's status code. */
  code?: number;
  headers?: Record<string, string | string[]>;
  chunks?: Buffer[];
  size?: number;
}

/** A proxy-cache plugin instance: mount it with `gateway(...)`; purge it from app code or {@link proxyCacheAdmin}. */
export interface ProxyCachePlugin extends Plugin<ProxyCacheConfig, ProxyCacheState> {
  /** Drops the entry with this key (the `X-Cache-Key` value); true when there was one. */
  purge(key: string): Promise<boolean>;
  /** Drops every entry of this instance (memory) or of its Redis prefix (redis). */
  purgeAll(): Promise<void>;
  /** Closes the Redis connection tollgate opened for this instance (a no-op otherwise). */
  close(): Promise<void>;
}

const HEX_KEY = /^[0-9a-f]{64}$/;

/**
 * The body as one buffer of its own. Small chunks are often views into Node's shared 8 KiB pool;
 * keeping them would hold the whole slab and make `memory.maxBytes` undercount what is held.
 */
function assemble(chunks: Buffer[], size: number): Buffer {
  const body = Buffer.allocUnsafeSlow(size);
  let at = 0;
  for (const chunk of chunks) at += chunk.copy(body, at);
  return body;
}

/**
 * Caches responses by method, path, query, chosen headers and consumer, and replays them with
 * `X-Cache-Status: Hit`.
 *
 * Entries of authenticated requests are keyed by `ctx.consumer.id` and by whom the credential
 * belongs to (its `sub`, else its id), so one user's response is never served to another, even when
 * both use one application; a request with an `Authorization` header that no auth plugin identified
 * is never cached.
 *
 * @example
 * ```ts
 * const cache = proxyCache({ strategy: 'memory', cacheTtl: 30 });
 * app.use('/httpbin', gateway(oidc({ issuer, audience }), rateLimit({ minute: 5 }), cache, upstreamProxy({ url })));
 * await cache.purgeAll();
 * ```
 * @throws ConfigError when an option is wrong.
 * @see https://developer.konghq.com/plugins/proxy-cache/reference/
 */
export function proxyCache(options: ProxyCacheOptions = {}): ProxyCachePlugin {
  const { logger, rest } = takeLogger({ plugin: 'proxyCache' }, options);
  const config = parseProxyCacheOptions(rest);
  const ranges = mediaRanges(config);
  const methods = new Set<string>(config.requestMethod);
  const show = config.responseHeaders;
  const lockMs = config.lockTimeout * 1000;
  const flights = new Flights(lockMs);
  const store: ResponseStore =
    config.strategy === 'memory' ? new MemoryResponseStore({ maxBytes: config.memory.maxBytes }) : new RedisResponseStore(config.redis!, 'proxyCache', logger);
  const memory = store instanceof MemoryResponseStore ? store : undefined;

  const release = (local: ProxyCacheState, outcome?: CachedResponse | 'bypass'): void => {
    if (local.flight === undefined) return;
    flights.settle(local.flight, outcome);
    local.flight = undefined;
  };

  const bypass = (local: ProxyCacheState): void => {
    local.status = 'Bypass';
    local.key = undefined;
    release(local, 'bypass');
  };

  const serve = (ctx: RequestContext, local: ProxyCacheState, entry: CachedResponse): void => {
    local.status = 'Hit';
    // The client's copy is current: 304 with the validators and caching headers, no body.
    const unchanged = notModified(entry, ctx);
    const headers: Record<string, OutgoingHttpHeader> = unchanged ? notModifiedHeaders(entry) : Object.assign({}, entry.headers);
    if (show.xCacheStatus) headers['X-Cache-Status'] = 'Hit';
    if (show.xCacheKey) headers['X-Cache-Key'] = local.key!;
    if (show.age) headers['Age'] = String(Math.floor(ageOf(entry, Date.now())));
    // A 304 is sent without its body; the stored body only makes its Content-Length the 200's (RFC 9110 §8.6).
    ctx.exit(unchanged ? 304 : entry.status, entry.body, headers);
    publishVerdict(ctx, 'Hit');
    // Nothing to capture or release: the response is written without this plugin's later phases.
    settle(internal(ctx), self);
  };

  const usable = (entry: CachedResponse | undefined, ctx: RequestContext, d: RequestDirectives | undefined): entry is CachedResponse =>
    entry !== undefined && varyMatches(entry, ctx) && isFresh(entry, Date.now(), d);

  /** Not answered from the cache: the request goes on, and its response is captured unless it is a HEAD. */
  const proceed = (ctx: RequestContext, local: ProxyCacheState, stale: boolean, d: RequestDirectives | undefined, lead: boolean): void => {
    if (d?.onlyIfCached) {
      // RFC 9111 §5.2.1.7: no stored response, so 504 rather than contacting the origin.
      local.status = 'Miss';
      release(local);
      ctx.exit(504);
      return;
    }
    local.status = stale ? 'Refresh' : 'Miss';
    // A HEAD response has no body to store; HEADs are answered from GET entries instead.
    if (ctx.request.method === 'HEAD') return release(local);
    local.capture = true;
    local.requestHeaders = { ...ctx.request.headers };
    if (lead && config.lock && local.flight === undefined) local.flight = flights.lead(local.key!);
  };

  const follow = (ctx: RequestContext, local: ProxyCacheState, flight: Flight, d: RequestDirectives | undefined): Promise<void> =>
    flights.wait(flight, lockMs).then((outcome) => {
      if (outcome === 'bypass') return bypass(local);
      if (usable(outcome, ctx, d)) return serve(ctx, local, outcome);
      // The leader's response was not stored (or the wait ran out): go on alone, without leading,
      // so a non-cacheable response does not line up every later request behind the next one.
      proceed(ctx, local, false, d, false);
    });

  const plugin = definePlugin<ProxyCacheConfig, ProxyCacheState>({
    name: 'proxy-cache',
    priority: 100,
    config,

    access(ctx, local) {
      const req = ctx.request;
      if (!methods.has(req.method) || (ctx.consumer === undefined && ctx.credential === undefined && req.headers.authorization !== undefined)) {
        // An Authorization header no auth plugin identified: the answer may depend on a credential
        // the key cannot see (RFC 9111 §3.5). Identified, the key holds the consumer and subject.
        local.status = 'Bypass';
        return;
      }
      const d = config.cacheControl ? requestDirectives(ctx) : undefined;
      if (d !== undefined && (d.noStore || d.noCache)) {
        local.status = 'Bypass';
        return;
      }
      if (!store.available) {
        local.status = 'Bypass';
        return;
      }
      const key = cacheKey(config, ctx, req.method === 'HEAD' ? 'GET' : req.method);
      local.key = key;

      if (memory !== undefined) {
        const entry = memory.get(key);
        if (usable(entry, ctx, d)) return serve(ctx, local, entry);
        const flight = config.lock ? flights.get(key) : undefined;
        if (flight !== undefined) return follow(ctx, local, flight, d);
        return proceed(ctx, local, entry !== undefined && varyMatches(entry, ctx), d, true);
      }

      const flight = config.lock ? flights.get(key) : undefined;
      if (flight !== undefined) return follow(ctx, local, flight, d);
      // Lead before the lookup, so that requests arriving while Redis answers wait for this one.
      if (config.lock && req.method !== 'HEAD') local.flight = flights.lead(key);
      return (store.get(key) as Promise<CachedResponse | undefined>).then(
        (entry) => {
          if (usable(entry, ctx, d)) {
            release(local, entry);
            return serve(ctx, local, entry);
          }
          proceed(ctx, local, entry !== undefined && varyMatches(entry, ctx), d, true);
        },
        () => bypass(local),
      );
    },

    headerFilter(ctx, local) {
      if (local.status === undefined || local.status === 'Hit') return;
      if (local.capture) {
        const plan = planStorage(config, ranges, ctx, local.requestHeaders ?? ctx.request.headers);
        if (plan === undefined) {
          local.status = 'Bypass';
          local.capture = false;
          release(local);
        } else {
          local.plan = plan;
          local.code = ctx.response.status;
          local.headers = storableHeaders(ctx.response.getHeaders());
          local.chunks = [];
          local.size = 0;
        }
      }
      publishVerdict(ctx, local.status);
      if (show.xCacheStatus) ctx.response.setHeader('X-Cache-Status', local.status);
      if (show.xCacheKey && local.key !== undefined) ctx.response.setHeader('X-Cache-Key', local.key);
    },

    bodyFilter(_ctx, chunk, eof, local) {
      const plan = local.plan;
      if (plan === undefined) return;
      if (chunk.length > 0) {
        local.size! += chunk.length;
        if (local.size! > config.maxBodySize) {
          // Too big to store; the client still gets every byte.
          local.plan = undefined;
          local.chunks = undefined;
          release(local);
          return;
        }
        local.chunks!.push(chunk);
      }
      if (!eof) return;
      const entry: CachedResponse = {
        status: local.code!,
        headers: local.headers!,
        body: assemble(local.chunks!, local.size!),
        storedAt: Date.now(),
        ttl: plan.ttl,
        initialAge: plan.initialAge,
        ...(plan.vary ? { vary: plan.vary } : {}),
        ...(plan.mustRevalidate ? { mustRevalidate: true } : {}),
      };
      local.plan = undefined;
      local.chunks = undefined;
      store.set(local.key!, entry, plan.storageMs);
      release(local, entry);
    },

    log(_ctx, local) {
      // The response ended without a complete body (client gone, handler failed): free the followers.
      release(local);
    },
  });

  // The instance gateways hold (and `settle` is told about) is this one, not `plugin`.
  const self: ProxyCachePlugin = Object.freeze({
    ...plugin,
    purge: async (key: string) => (typeof key === 'string' && HEX_KEY.test(key) ? store.delete(key) : false),
    purgeAll: () => store.clear(),
    close: () => store.close(),
  });
  return self;
}

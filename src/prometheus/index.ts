/**
 * `tollgate/prometheus`: Kong's prometheus plugin over prom-client (an optional peer dependency,
 * loaded only by this entry point).
 *
 * How each metric is measured:
 * - `http_requests_total`, the latency histograms, `auth_failures_total` and
 *   `rate_limit_exceeded_total` in the plugin's log phase, from the request's context: its route,
 *   the status sent, who answered, the code of the error tollgate answered with, its timings.
 * - `cache_requests_total` and `upstream_errors_total` from the `tollgate:cache` and
 *   `tollgate:upstream` channels, noted in the plugin's state for that request and counted in its
 *   log phase: only requests that went through a gateway with this plugin are counted.
 * - `idp_requests_total` and `upstream_target_health` from `tollgate:idp` and `tollgate:upstream`
 *   directly: IdP calls and target health belong to no one request (a key fetch serves every
 *   request waiting for it), so they count every call this process makes, once per registry.
 *
 * @example
 * ```ts
 * import { Registry } from 'prom-client';
 * import { prometheus } from 'tollgate/prometheus';
 *
 * const registry = new Registry();
 * app.use('/httpbin', gateway(prometheus({ registry }), rateLimit({ minute: 5 }), upstreamProxy({ url })));
 * app.get('/metrics', async (_req, res) => void res.type(registry.contentType).send(await registry.metrics()));
 * ```
 * @see https://developer.konghq.com/plugins/prometheus/
 * @packageDocumentation
 * @module tollgate/prometheus
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Registry } from 'prom-client';
import { parseShape, v } from '../core/config';
import { diagnosticsChannels, idpChannel, upstreamChannel, type CacheMessage, type IdpCallMessage, type UpstreamErrorKind, type UpstreamTryMessage } from '../core/diagnostics';
import { ConfigError } from '../core/errors';
import { internal } from '../core/gateway-context';
import { definePlugin, type Plugin } from '../core/plugin';
import { GATEWAY_BUCKETS, metricsOn, REQUEST_BUCKETS, type Buckets, type Metrics } from './metrics';

export type { Buckets } from './metrics';

/** What `prometheus()` takes. */
export interface PrometheusOptions {
  /**
   * The prom-client registry the metrics are registered on (never the global one unless you pass
   * it). Several plugins (gateways) may share one: the metrics are registered once.
   */
  registry: Registry;
  /** Prefix of every metric name (Kong's is `kong_`). @defaultValue `'tollgate_'` */
  prefix?: string;
  /**
   * Fill the `consumer` label of `http_requests_total` with the consumer's id (Kong's
   * `per_consumer`). One series per consumer: keep it off with many consumers.
   * @defaultValue `false` (the label is `""`)
   */
  perConsumer?: boolean;
  /**
   * Histogram buckets in milliseconds.
   * @defaultValue Kong's: `gateway` 1 … 6000, `request` and `upstream` 25 … 60000
   */
  buckets?: { request?: number[]; gateway?: number[]; upstream?: number[] };
}

/** The resolved options (the registry is kept apart: a config is frozen, a registry must not be). */
export interface PrometheusConfig {
  readonly prefix: string;
  readonly perConsumer: boolean;
  readonly buckets: Buckets;
}

/** @internal What the plugin notes for one request before its log phase. */
export interface PrometheusState {
  cache?: CacheMessage['status'];
  upstreamErrors?: UpstreamErrorKind[];
}

/** The prometheus plugin, plus `close()` to stop listening to tollgate's channels. */
export interface PrometheusPlugin extends Plugin<PrometheusConfig, PrometheusState> {
  /** Stops listening to the diagnostics channels (the metrics stay registered). */
  close(): void;
}

const where = { plugin: 'prometheus' };
const bucketList = v.custom<number[]>('an increasing array of positive numbers', (x) => Array.isArray(x) && x.length > 0 && x.every((n, i) => typeof n === 'number' && n > 0 && Number.isFinite(n) && (i === 0 || n > (x[i - 1] as number))));
const shape = {
  registry: v.custom<Registry>('a prom-client Registry', (x) => typeof x === 'object' && x !== null && typeof (x as Registry).getSingleMetric === 'function' && typeof (x as Registry).metrics === 'function'),
  prefix: v.optional(v.custom<string>('a metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)', (x) => typeof x === 'string' && /^([a-zA-Z_:][a-zA-Z0-9_:]*)?$/.test(x)), 'tollgate_'),
  perConsumer: v.optional(v.boolean(), false),
  buckets: v.optional(v.object({ request: v.optional(bucketList), gateway: v.optional(bucketList), upstream: v.optional(bucketList) }), {}),
};

/** The codes of auth refusals: UnauthorizedError's and ForbiddenError's, the OIDC plugin's. */
const AUTH_CODE = /^ERR_(AUTH|OIDC)_/;
const HEALTH_STATES = ['healthy', 'unhealthy', 'healthchecks_off'] as const;

/** What every plugin on one registry and prefix shares: the metrics and one IdP subscription. */
interface Shared {
  readonly metrics: Metrics;
  readonly buckets: Buckets;
  /** The health each target was last seen in, so the gauge is set only on a change. */
  readonly health: Map<string, string>;
  users: number;
  readonly onIdp: (message: unknown) => void;
}
const sharedByRegistry = new WeakMap<Registry, Map<string, Shared>>();

function acquire(registry: Registry, prefix: string, buckets: Buckets): Shared {
  let byPrefix = sharedByRegistry.get(registry);
  if (!byPrefix) sharedByRegistry.set(registry, (byPrefix = new Map()));
  let shared = byPrefix.get(prefix);
  if (shared) {
    if (JSON.stringify(shared.buckets) !== JSON.stringify(buckets)) {
      throw new ConfigError('prometheus: every prometheus() on one registry and prefix must use the same "buckets"', 'buckets');
    }
  } else {
    const metrics = metricsOn(registry, prefix, buckets);
    const onIdp = (message: unknown) => {
      const m = message as IdpCallMessage;
      metrics.idp.inc({ endpoint: m.endpoint, outcome: m.outcome ?? 'ok' });
    };
    byPrefix.set(prefix, (shared = { metrics, buckets, health: new Map(), users: 0, onIdp }));
  }
  if (shared.users++ === 0) idpChannel.end.subscribe(shared.onIdp);
  return shared;
}

function release(shared: Shared): void {
  if (--shared.users === 0) idpChannel.end.unsubscribe(shared.onIdp);
}

/**
 * Prometheus metrics with Kong's names (`kong_` becomes `tollgate_`), and those Kong lacks: auth
 * failures by code, rate-limit refusals, cache verdicts, upstream errors by kind, IdP calls.
 *
 * Mount it in each gateway to be measured; it runs first (its log phase then sees every request,
 * whichever plugin answered it) and does its work after the response, in the log phase.
 *
 * | metric | type | labels |
 * | --- | --- | --- |
 * | `tollgate_http_requests_total` | counter | `route`, `code`, `source` (`gateway`, `upstream`, `app`), `consumer` |
 * | `tollgate_request_latency_ms`, `tollgate_gateway_latency_ms`, `tollgate_upstream_latency_ms` | histogram | `route` |
 * | `tollgate_auth_failures_total` | counter | `code` (`ERR_OIDC_TOKEN_EXPIRED`, …) |
 * | `tollgate_rate_limit_exceeded_total` | counter | `route` |
 * | `tollgate_cache_requests_total` | counter | `status` (`Hit`, `Miss`, `Refresh`, `Bypass`) |
 * | `tollgate_upstream_errors_total` | counter | `kind` (`refused`, `timeout`, `reset`, `dns`, `protocol`) |
 * | `tollgate_idp_requests_total` | counter | `endpoint`, `outcome` |
 * | `tollgate_upstream_target_health` | gauge | `target`, `state` |
 *
 * @throws ConfigError when an option is wrong, or the registry holds a metric of the same name
 *   that is not tollgate's, or one registered with other buckets.
 * @see https://developer.konghq.com/plugins/prometheus/reference/
 */
export function prometheus(options: PrometheusOptions): PrometheusPlugin {
  const o = parseShape(where, shape, options);
  const buckets: Buckets = {
    request: o.buckets.request ?? [...REQUEST_BUCKETS],
    gateway: o.buckets.gateway ?? [...GATEWAY_BUCKETS],
    upstream: o.buckets.upstream ?? [...REQUEST_BUCKETS],
  };
  const config: PrometheusConfig = { prefix: o.prefix, perConsumer: o.perConsumer, buckets };
  const shared = acquire(o.registry, o.prefix, buckets);
  const m = shared.metrics;
  const perConsumer = o.perConsumer;

  const onTry = (message: unknown): void => {
    const t = message as UpstreamTryMessage;
    if (t.health !== undefined && shared.health.get(t.target) !== t.health) {
      shared.health.set(t.target, t.health);
      for (const state of HEALTH_STATES) m.targetHealth.set({ target: t.target, state }, state === t.health ? 1 : 0);
    }
    if (t.errorKind !== undefined) (t.ctx.local<PrometheusState>(self).upstreamErrors ??= []).push(t.errorKind);
  };
  const onVerdict = (message: unknown): void => {
    const c = message as CacheMessage;
    c.ctx.local<PrometheusState>(self).cache = c.status;
  };

  const plugin = definePlugin<PrometheusConfig, PrometheusState>({
    name: 'prometheus',
    // First of all: a plugin's log phase runs only if the pipeline reached it, and a refusal by
    // any plugin before it would go uncounted.
    priority: 1_000_000,
    config,
    log(ctx, local) {
      const g = internal(ctx);
      const route = ctx.request.route;
      const response = ctx.response;
      const status = response.headersSent ? response.status : 499;
      const source = g.answeredBy ?? 'app';
      m.requests.inc({ route, code: String(status), source, consumer: perConsumer ? (ctx.consumer?.id ?? '') : '' });
      const timings = ctx.timings;
      const total = performance.now() - timings.start;
      m.requestLatency.observe({ route }, total);
      const own = source === 'gateway' ? total : timings.proxyLatency;
      if (own !== undefined) m.gatewayLatency.observe({ route }, own);
      if (source === 'upstream' && timings.upstreamLatency !== undefined) m.upstreamLatency.observe({ route }, timings.upstreamLatency);
      const code = g.errorCode;
      if (code !== undefined) {
        if (AUTH_CODE.test(code)) m.authFailures.inc({ code });
        else if (code === 'ERR_RATE_LIMIT_EXCEEDED') m.rateLimited.inc({ route });
      }
      if (local.cache !== undefined) m.cache.inc({ status: local.cache });
      if (local.upstreamErrors !== undefined) for (const kind of local.upstreamErrors) m.upstreamErrors.inc({ kind });
    },
  });

  upstreamChannel.end.subscribe(onTry);
  subscribe(diagnosticsChannels.cache, onVerdict);
  let open = true;
  const self: PrometheusPlugin = Object.freeze({
    ...plugin,
    close() {
      if (!open) return;
      open = false;
      upstreamChannel.end.unsubscribe(onTry);
      unsubscribe(diagnosticsChannels.cache, onVerdict);
      release(shared);
    },
  });
  return self;
}

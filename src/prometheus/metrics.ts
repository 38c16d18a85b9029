/**
 * The metrics of `tollgate/prometheus`, registered once per registry and prefix: a second plugin
 * (another gateway) on the same registry uses the same metrics instead of registering them again,
 * which prom-client would refuse. A metric of that name that is already there (another copy of
 * tollgate, a hot reload) is used when it has the same type, labels and buckets.
 *
 * @see https://developer.konghq.com/plugins/prometheus/ — Kong's names (`kong_` becomes the prefix)
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { ConfigError } from '../core/errors';

/** Kong's latency buckets, in milliseconds. */
export const GATEWAY_BUCKETS: readonly number[] = [1, 2, 5, 7, 10, 15, 20, 30, 50, 75, 100, 200, 500, 750, 1000, 3000, 6000];
export const REQUEST_BUCKETS: readonly number[] = [25, 50, 80, 100, 250, 400, 700, 1000, 2000, 5000, 10000, 30000, 60000];

/** The histograms' buckets, resolved. */
export interface Buckets {
  readonly request: readonly number[];
  readonly gateway: readonly number[];
  readonly upstream: readonly number[];
}

/** Every metric the plugin keeps. */
export interface Metrics {
  readonly requests: Counter<'route' | 'code' | 'source' | 'consumer'>;
  readonly requestLatency: Histogram<'route'>;
  readonly gatewayLatency: Histogram<'route'>;
  readonly upstreamLatency: Histogram<'route'>;
  readonly authFailures: Counter<'code'>;
  readonly rateLimited: Counter<'route'>;
  readonly cache: Counter<'status'>;
  readonly upstreamErrors: Counter<'kind'>;
  readonly idp: Counter<'endpoint' | 'outcome'>;
  readonly targetHealth: Gauge<'target' | 'state'>;
}

type AnyMetric = Counter<string> | Histogram<string> | Gauge<string>;

/** A registered metric of that name, if it fits; else `make()` registers one. */
function ensure<M extends AnyMetric>(registry: Registry, name: string, type: string, labels: readonly string[], make: () => M, buckets?: readonly number[]): M {
  const existing = registry.getSingleMetric(name) as (AnyMetric & { type?: string; labelNames?: string[]; upperBounds?: number[] }) | undefined;
  if (existing === undefined) return make();
  const sameLabels = JSON.stringify([...(existing.labelNames ?? [])].sort()) === JSON.stringify([...labels].sort());
  const sameBuckets = buckets === undefined || JSON.stringify(existing.upperBounds) === JSON.stringify(buckets);
  if (existing.type !== type || !sameLabels) {
    throw new ConfigError(`prometheus: the registry already has a metric "${name}" that is not tollgate's (another type or other labels); give another "prefix"`, 'prefix');
  }
  if (!sameBuckets) {
    throw new ConfigError(`prometheus: "${name}" is registered on this registry with other buckets; every prometheus() on one registry and prefix must use the same "buckets"`, 'buckets');
  }
  return existing as M;
}

/** The metrics on `registry` under `prefix`, registered on first use. */
export function metricsOn(registry: Registry, prefix: string, buckets: Buckets): Metrics {
  const registers = [registry];
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    ensure(registry, prefix + name, 'counter', labelNames, () => new Counter<L>({ name: prefix + name, help, labelNames, registers }));
  const histogram = (name: string, help: string, bucketList: readonly number[]) =>
    ensure(registry, prefix + name, 'histogram', ['route'], () => new Histogram<'route'>({ name: prefix + name, help, labelNames: ['route'], buckets: [...bucketList], registers }), bucketList);
  return {
    requests: counter('http_requests_total', 'Requests by route, status code, who answered (gateway, upstream, app) and consumer (when perConsumer is on)', [
      'route',
      'code',
      'source',
      'consumer',
    ] as const),
    requestLatency: histogram('request_latency_ms', 'Time from the gateway receiving a request to the response closing, in ms', buckets.request),
    gatewayLatency: histogram('gateway_latency_ms', "The gateway's own time for a request, in ms: all of it for answers it made, the time before it handed on otherwise", buckets.gateway),
    upstreamLatency: histogram('upstream_latency_ms', "Time to the upstream's response head, in ms, for requests the upstream answered", buckets.upstream),
    authFailures: counter('auth_failures_total', 'Requests refused by an auth plugin, by error code', ['code'] as const),
    rateLimited: counter('rate_limit_exceeded_total', 'Requests refused by rate limiting, by route', ['route'] as const),
    cache: counter('cache_requests_total', "The proxy cache's verdicts (Hit, Miss, Refresh, Bypass)", ['status'] as const),
    upstreamErrors: counter('upstream_errors_total', 'Failed upstream tries (retries included), by kind: refused, timeout, reset, dns, protocol', ['kind'] as const),
    idp: counter('idp_requests_total', 'Calls to the identity provider by endpoint (discovery, jwks, token, introspection) and outcome', ['endpoint', 'outcome'] as const),
    targetHealth: ensure(registry, prefix + 'upstream_target_health', 'gauge', ['target', 'state'], () =>
      new Gauge<'target' | 'state'>({ name: prefix + 'upstream_target_health', help: 'Upstream targets: 1 on the state the passive health checks last saw (healthy, unhealthy, healthchecks_off)', labelNames: ['target', 'state'], registers }),
    ),
  };
}

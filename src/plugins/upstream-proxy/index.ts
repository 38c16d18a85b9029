/**
 * The upstream-proxy plugin: sends the request to the service behind the gateway and streams its
 * answer back, as Kong's data plane does after every access handler ran.
 *
 * @see https://developer.konghq.com/gateway/traffic-control/proxy/ — Kong's proxy behaviour
 */
import { takeLogger } from '../../core/config';
import { definePlugin, type Plugin } from '../../core/plugin';
import { InternalError } from '../../core/errors';
import { internal } from '../../core/gateway-context';
import { BackendAuth } from './backend-auth';
import { Balancer } from './balancer';
import type { UpstreamClient } from './client';
import { Exchange, type ProxyRuntime } from './exchange';
import { NodeClient } from './node-client';
import { resolveOptions, type UpstreamProxyConfig, type UpstreamProxyOptions } from './options';
import { UndiciClient } from './undici-client';

export type {
  UpstreamProxyOptions,
  UpstreamProxyConfig,
  TargetConfig,
  HealthchecksOptions,
  PassiveUnhealthyOptions,
  KeepaliveOptions,
  BackendClientCredentialsOptions,
} from './options';

/** The health of one target, as the passive checks see it. */
export interface TargetHealth {
  readonly url: string;
  readonly healthy: boolean;
  /** Epoch milliseconds at which an unhealthy target gets traffic again. */
  readonly downUntil?: number;
}

/** What `upstreamProxy()` returns: the plugin, plus a way to close its pooled connections. */
export interface UpstreamProxyPlugin extends Plugin<UpstreamProxyConfig> {
  /** Closes the idle pooled connections (on shutdown, and between tests). */
  close(): void;
  /** The targets and whether the passive health checks currently send them traffic. */
  health(): TargetHealth[];
  /** How many token requests backend auth sent (0 without `auth`); for tests and monitoring. */
  tokenRequests(): number;
}

/**
 * Proxies the request to `url` (or round-robin to `targets`), as the last plugin of the pipeline.
 *
 * Mounted at `/httpbin`, `/httpbin/get?x=1` reaches the upstream as `/get?x=1` with Kong's
 * `X-Forwarded-*` and `X-Real-IP` headers; the response comes back streamed with `Via: 1.1 tollgate`
 * and the `X-Tollgate-Upstream-Latency` / `X-Tollgate-Proxy-Latency` headers. Connections are
 * pooled; refused or reset → 502, no healthy target → 503, timeout → 504, each as JSON.
 *
 * Needs Node's `req`/`res`: it works under the Express and Koa adapters, not in a
 * `tollgate/testing` context.
 *
 * @example
 * ```ts
 * app.use('/httpbin', gateway(
 *   rateLimit({ minute: 5 }),
 *   upstreamProxy({ url: 'http://127.0.0.1:8080', readTimeout: 10_000 }),
 * ));
 * ```
 * @see https://developer.konghq.com/gateway/entities/service/
 */
export function upstreamProxy(options: UpstreamProxyOptions): UpstreamProxyPlugin {
  const { logger, rest } = takeLogger({ plugin: 'upstreamProxy' }, options);
  const config = resolveOptions(rest);
  // undici unless the user brought Node agents of their own (custom TLS, an outbound proxy).
  const client: UpstreamClient = config.agent !== undefined ? new NodeClient(config) : new UndiciClient(config);
  const balancer = new Balancer(config, logger);
  const auth = config.auth === undefined ? undefined : new BackendAuth(config.auth, logger);
  const runtime: ProxyRuntime = { config, balancer, client, auth, logger };
  const plugin = definePlugin<UpstreamProxyConfig>({
    name: 'upstream-proxy',
    // Kong proxies after every access handler; the built-ins run 1050 (OIDC) down to 100 (cache).
    priority: 0,
    config,
    access(ctx) {
      const raw = ctx.raw;
      if (raw === undefined) {
        throw new InternalError(
          'upstreamProxy needs the Node request and response (ctx.raw): mount it with tollgate/express or tollgate/koa; in tollgate/testing, test the plugins before it',
        );
      }
      return new Exchange(runtime, internal(ctx), raw.req, raw.res).start();
    },
  });
  return {
    ...plugin,
    close: () => client.close(),
    health: () =>
      balancer.states.map((s) => {
        const healthy = s.healthy(Date.now());
        return { url: s.target.url, healthy, ...(healthy ? {} : { downUntil: s.downUntil }) };
      }),
    tokenRequests: () => auth?.tokens.requests ?? 0,
  };
}

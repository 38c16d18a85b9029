/**
 * The connection pool: one keep-alive `http.Agent` and one `https.Agent` per plugin instance.
 *
 * http-proxy (under http-proxy-middleware) uses no agent unless given one and then sends
 * `Connection: close`, so every proxied request opens a new connection: under load the gateway
 * runs out of ephemeral ports and latency climbs (node-anchors §6). Reusing connections is the
 * default here, as in Kong (`upstream_keepalive_*`).
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { TargetConfig, UpstreamProxyConfig } from './options';

/** The agents a plugin sends its upstream requests through. */
export class AgentPool {
  readonly http: HttpAgent;
  readonly https: HttpsAgent;
  private readonly owned: (HttpAgent | HttpsAgent)[] = [];

  constructor(config: UpstreamProxyConfig) {
    const keepalive = config.keepalive;
    const options = keepalive
      ? {
          keepAlive: true,
          maxFreeSockets: keepalive.poolSize,
          maxSockets: keepalive.maxSockets,
          // Agent's `timeout` is the idle timeout of a pooled socket (shortened by the upstream's
          // `Keep-Alive: timeout=N` hint). Request timeouts are the proxy's own, per phase.
          timeout: keepalive.idleTimeout,
          // LIFO keeps the fewest sockets warm, so idle ones expire instead of going stale.
          scheduling: 'lifo' as const,
        }
      : { keepAlive: false };
    this.http = config.agent?.http ?? this.own(new HttpAgent(options));
    this.https = config.agent?.https ?? this.own(new HttpsAgent(options));
  }

  private own<A extends HttpAgent | HttpsAgent>(agent: A): A {
    this.owned.push(agent);
    return agent;
  }

  /** The agent for a target's protocol. */
  for(target: TargetConfig): HttpAgent | HttpsAgent {
    return target.protocol === 'https:' ? this.https : this.http;
  }

  /** Closes the pooled connections of the agents this pool created (not agents passed in options). */
  destroy(): void {
    for (const agent of this.owned) agent.destroy();
  }
}

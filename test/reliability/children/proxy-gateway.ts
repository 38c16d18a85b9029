/**
 * A gateway child for the upstream fault cases: one `upstreamProxy` per faulty upstream, mounted
 * at `/<name>`, with short timeouts so the slow cases end quickly.
 */
import express from 'express';
import { upstreamProxy, type UpstreamProxyPlugin } from 'tollgate';
import { gateway } from 'tollgate/express';
import { config, printLogs, serve, statsRoute } from './kit';

interface ProxyGatewayConfig {
  /** Mount name → upstream URL. */
  upstreams: Record<string, string>;
  readTimeout: number;
  connectTimeout: number;
}

printLogs();
const { upstreams, readTimeout, connectTimeout } = config<ProxyGatewayConfig>();
const app = express();
statsRoute(app);
const plugins: UpstreamProxyPlugin[] = [];
for (const [name, url] of Object.entries(upstreams)) {
  const plugin = upstreamProxy({ url, readTimeout, connectTimeout });
  plugins.push(plugin);
  app.use(`/${name}`, gateway(plugin));
}
serve(app, () => plugins.forEach((p) => p.close()));

/**
 * tollgate stacks, one process per configuration (STACK env): bearer validation, rate limiting
 * (local or Redis), the cache hit path, the upstream proxy, and the full walkthrough stack.
 */
import express from 'express';
import type * as TollgateExpress from 'tollgate/express';
import type * as TollgatePrometheus from 'tollgate/prometheus';
import { Registry } from 'prom-client';
import { env, handler, listen } from '../serve';
import { bearer, limit, nodeClient, tollgate } from './tollgate-plugins';

// The compiled package, as users run it (see tollgate-plugins.ts).
const { gateway } = require('../../dist/adapters/express.js') as typeof TollgateExpress;
const { proxyCache, upstreamProxy } = tollgate;

const app = express();
switch (process.env.STACK) {
  case 'bearer':
    app.use(gateway(bearer()));
    break;
  case 'ratelimit-local':
    app.use(gateway(limit('local')));
    break;
  case 'ratelimit-redis':
    app.use(gateway(limit('redis')));
    break;
  case 'cache':
    app.use(gateway(proxyCache({ strategy: 'memory' })));
    break;
  case 'proxy':
    app.use(gateway(upstreamProxy({ url: env.upstreamUrl, ...nodeClient() })));
    break;
  case 'full':
    app.use('/httpbin', gateway(bearer(), limit('local'), proxyCache({ strategy: 'memory', cacheTtl: 300 }), upstreamProxy({ url: env.upstreamUrl })));
    break;
  case 'full-prometheus': {
    // The same stack measured by tollgate/prometheus, scraped as Prometheus would (every 15 s).
    const { prometheus } = require('../../dist/prometheus/index.js') as typeof TollgatePrometheus;
    const registry = new Registry();
    app.use('/httpbin', gateway(prometheus({ registry }), bearer(), limit('local'), proxyCache({ strategy: 'memory', cacheTtl: 300 }), upstreamProxy({ url: env.upstreamUrl })));
    setInterval(() => void registry.metrics(), 15_000).unref();
    break;
  }
  default:
    throw new Error(`unknown STACK ${process.env.STACK}`);
}
app.get('/{*path}', handler);
listen(app);

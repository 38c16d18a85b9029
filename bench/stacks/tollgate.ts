/**
 * tollgate stacks, one process per configuration (STACK env): bearer validation, rate limiting
 * (local or Redis), the cache hit path, the upstream proxy, and the full walkthrough stack.
 */
import express from 'express';
// The compiled package, as users run it (npm run bench builds it first): sources run through tsx
// carry its transform's helpers (a __name call per closure) that no user pays.
import type * as Tollgate from 'tollgate';
import type * as TollgateExpress from 'tollgate/express';
import { env, handler, listen } from '../serve';

// Typed from the sources, loaded from dist/ (so type-checking needs no build).
const { oidc, proxyCache, rateLimit, upstreamProxy } = require('../../dist/index.js') as typeof Tollgate;
const { gateway } = require('../../dist/adapters/express.js') as typeof TollgateExpress;

const bearer = () => oidc({ issuer: env.issuerUrl, audience: env.audience, allowInsecureIssuer: true });
const limit = (policy: 'local' | 'redis') =>
  rateLimit({ minute: 1_000_000_000, policy, ...(policy === 'redis' ? { redis: { url: 'redis://127.0.0.1:6379' }, namespace: `bench-${process.pid}` } : {}) });

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
    app.use(gateway(upstreamProxy({ url: env.upstreamUrl })));
    break;
  case 'full':
    app.use('/httpbin', gateway(bearer(), limit('local'), proxyCache({ strategy: 'memory', cacheTtl: 300 }), upstreamProxy({ url: env.upstreamUrl })));
    break;
  default:
    throw new Error(`unknown STACK ${process.env.STACK}`);
}
app.get('/{*path}', handler);
listen(app);

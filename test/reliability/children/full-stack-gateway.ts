/**
 * A gateway child running the full walkthrough stack — oidc (bearer and client credentials),
 * rateLimit, proxyCache, upstreamProxy — at `/api`, and the same stack with a tight limit at
 * `/tight`, for the fuzzing and soak cases.
 */
import express from 'express';
import { oidc, proxyCache, rateLimit, upstreamProxy, type OidcParamType, type RateLimitOptions } from 'tollgate';
import { gateway } from 'tollgate/express';
import { config, printLogs, serve, statsRoute } from './kit';

interface FullStackConfig {
  issuer: string;
  audience: string;
  upstreamUrl: string;
  /** Requests per minute and consumer at `/api` and at `/tight`. */
  apiLimit: number;
  tightLimit: number;
  /** Where credentials may be read from. @defaultValue `['header']` */
  paramTypes?: OidcParamType[];
  /** Counters in this Redis (under `prefix`) instead of in memory. */
  redis?: { url: string; prefix: string };
  cacheTtl: number;
  cacheMaxBytes: number;
}

printLogs();
const c = config<FullStackConfig>();
const closers: (() => unknown)[] = [];

function stack(limit: number, name: string) {
  const auth = oidc({
    issuer: c.issuer,
    authMethods: ['client_credentials', 'bearer'],
    audience: c.audience,
    tokenPostArgs: { audience: c.audience },
    allowInsecureIssuer: true,
    timeout: 2_000,
    ...(c.paramTypes ? { bearerTokenParamType: c.paramTypes, clientCredentialsParamType: c.paramTypes } : {}),
  });
  const counting: RateLimitOptions = c.redis
    ? { policy: 'redis', redis: { url: c.redis.url, prefix: c.redis.prefix }, namespace: name }
    : { policy: 'local' };
  const limiter = rateLimit({ minute: limit, limitBy: 'consumer', ...counting });
  const cache = proxyCache({ strategy: 'memory', cacheTtl: c.cacheTtl, memory: { maxBytes: c.cacheMaxBytes } });
  const proxy = upstreamProxy({ url: c.upstreamUrl, readTimeout: 5_000 });
  closers.push(() => limiter.close(), () => proxy.close());
  return gateway(auth, limiter, cache, proxy);
}

const app = express();
statsRoute(app);
app.use('/api', stack(c.apiLimit, 'api'));
app.use('/tight', stack(c.tightLimit, 'tight'));
serve(app, () => closers.forEach((close) => close()));

/**
 * A gateway child for scale-out exactness: `rateLimit` counting in a shared store (one Redis, a
 * Redis Cluster, or PostgreSQL through the cluster policy), every request through one mount
 * sharing one counter (`limitBy: 'service'`), in front of a tiny JSON handler. Mounts `/r1` …
 * `/r<rounds>` and nothing else: the first request a round sends may be the instance's first.
 */
import express from 'express';
import { Pool } from 'pg';
import { rateLimit, type RateLimitOptions } from 'tollgate';
import { gateway } from 'tollgate/express';
import { config, printLogs, serve, statsRoute } from './kit';

interface ScaleGatewayConfig {
  store: 'redis' | 'redis-cluster' | 'pg';
  /** redis: one URL; redis-cluster: the startup nodes. */
  redis?: string[];
  pg?: { port: number; tableName: string };
  prefix: string;
  namespace: string;
  minute: number;
  rounds: number;
  /** Where the rate limiters' clock stands (epoch ms): every round counts in one window. */
  at: number;
}

printLogs();
const c = config<ScaleGatewayConfig>();
// The exactness is what is measured: a slow store answers late rather than as an outage, and a
// failure would show as a 500 (faultTolerant: false), never as an admitted request.
const timeouts = { commandTimeout: 10_000, connectTimeout: 10_000 };
const pool = c.store === 'pg' ? new Pool({ host: '127.0.0.1', port: c.pg!.port, user: 'postgres', database: 'test', max: 10 }) : undefined;
const store = (): Partial<RateLimitOptions> => {
  switch (c.store) {
    case 'redis':
      return { policy: 'redis', redis: { url: c.redis![0]!, prefix: c.prefix, ...timeouts } };
    case 'redis-cluster':
      return { policy: 'redis', redis: { cluster: c.redis!, prefix: c.prefix, ...timeouts } };
    case 'pg':
      return { policy: 'cluster', cluster: { client: pool!, type: 'pg', tableName: c.pg!.tableName, ...timeouts } };
  }
};
const limits = Array.from({ length: c.rounds }, (_, i) => {
  const limit = rateLimit({ minute: c.minute, limitBy: 'service', namespace: c.namespace, faultTolerant: false, now: () => c.at, ...store() });
  return [`r${i + 1}`, limit] as const;
});
const app = express();
statsRoute(app);
for (const [mount, limit] of limits) app.use(`/${mount}`, gateway(limit));
app.get('/{*path}', (_req, res) => void res.json({ pid: process.pid }));
serve(app, () => {
  limits.forEach(([, limit]) => void limit.close());
  void pool?.end();
});

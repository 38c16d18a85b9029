/**
 * A gateway child for rate-limit exactness: `rateLimit` with Redis counters, every request through
 * one mount sharing one counter (`limitBy: 'service'`), in front of a tiny JSON handler. Mounts
 * `/warm` and `/r1` … `/r<rounds>`, so each round of a test starts from a counter of its own.
 */
import express from 'express';
import { rateLimit } from 'tollgate';
import { gateway } from 'tollgate/express';
import { config, printLogs, serve, statsRoute } from './kit';

interface RateLimitGatewayConfig {
  redisUrl: string;
  prefix: string;
  namespace: string;
  minute: number;
  rounds: number;
  /** Where the rate limiters' clock stands (epoch ms): every round counts in one window. */
  at: number;
}

printLogs();
const c = config<RateLimitGatewayConfig>();
const limits = ['warm', ...Array.from({ length: c.rounds }, (_, i) => `r${i + 1}`)].map((mount) => {
  const limit = rateLimit({ minute: c.minute, limitBy: 'service', policy: 'redis', redis: { url: c.redisUrl, prefix: c.prefix }, namespace: c.namespace, faultTolerant: false, now: () => c.at });
  return [mount, limit] as const;
});
const app = express();
statsRoute(app);
for (const [mount, limit] of limits) app.use(`/${mount}`, gateway(limit));
app.get('/{*path}', (_req, res) => void res.json({ pid: process.pid }));
serve(app, () => limits.forEach(([, limit]) => void limit.close()));

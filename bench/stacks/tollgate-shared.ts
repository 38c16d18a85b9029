/**
 * tollgate's rate limiter on the shared stores that need setting up first (STACK env):
 * `redis-cluster` starts a three-master Redis Cluster of its own (the test suite's helper) and
 * counts there with `redis: { cluster }`; `pg` counts with `policy: 'cluster'` in a table of its own
 * in the local PostgreSQL (127.0.0.1:5432, database test). Both are removed when the stack exits.
 * The one-Redis stack is `ratelimit-redis` in tollgate.ts.
 */
import { spawnSync } from 'node:child_process';
import express from 'express';
import { Pool } from 'pg';
import type * as Tollgate from 'tollgate';
import type * as TollgateExpress from 'tollgate/express';
import { OwnRedisCluster } from '../../test/support/redis-cluster';
import { handler, listen } from '../serve';

// Typed from the sources, loaded from dist/ as in tollgate.ts.
const { rateLimit } = require('../../dist/index.js') as typeof Tollgate;
const { gateway } = require('../../dist/adapters/express.js') as typeof TollgateExpress;

const PG = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' };

async function store(): Promise<Partial<Tollgate.RateLimitOptions>> {
  switch (process.env.STACK) {
    case 'redis-cluster': {
      const cluster = await OwnRedisCluster.create();
      // The harness ends a stack with SIGTERM, which exits at once (serve.ts): kill the nodes then.
      process.once('exit', () => cluster.stopNow());
      return { policy: 'redis', redis: { cluster: cluster.urls } };
    }
    case 'pg': {
      const tableName = `tollgate_bench_${process.pid}`;
      const pool = new Pool({ ...PG, max: 10 });
      // Nothing can be awaited in an 'exit' handler: drop the table from a short child process.
      const drop = `const { Client } = require('pg'); const c = new Client(${JSON.stringify(PG)}); c.connect().then(() => c.query('DROP TABLE IF EXISTS "${tableName}"')).finally(() => c.end());`;
      process.once('exit', () => void spawnSync(process.execPath, ['-e', drop], { cwd: __dirname, stdio: 'ignore', timeout: 10_000 }));
      return { policy: 'cluster', cluster: { client: pool, type: 'pg', tableName } };
    }
    default:
      throw new Error(`unknown STACK ${process.env.STACK}`);
  }
}

async function main(): Promise<void> {
  const app = express();
  app.use(gateway(rateLimit({ minute: 1_000_000_000, namespace: `bench-${process.pid}`, ...(await store()) })));
  app.get('/{*path}', handler);
  listen(app);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

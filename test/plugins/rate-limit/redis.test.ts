import { spawn, type ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Server } from 'node:http';
import express from 'express';
import Redis from 'ioredis';
import request from 'supertest';
import { rateLimit, type RateLimitOptions, type RateLimitPlugin } from 'tollgate';
import { gateway } from 'tollgate/express';
import { createTestContext, runPlugin } from 'tollgate/testing';
import { SHARED_REDIS, testClock, uniquePrefix } from './support';

/** Every plugin of this file counts on one standing clock (each test has its own key prefix). */
const clock = testClock();
const plugins: RateLimitPlugin[] = [];
/** A Redis-backed plugin that is closed after the test file. */
const redisLimit = (options: Omit<RateLimitOptions, 'policy'>): RateLimitPlugin => {
  const plugin = rateLimit({ policy: 'redis', now: clock, ...options });
  plugins.push(plugin);
  return plugin;
};
afterAll(async () => {
  await Promise.all(plugins.map((p) => p.close()));
});

const appWith = (plugin: RateLimitPlugin, name: string) => {
  const app = express();
  app.use(gateway(plugin));
  app.use((_req, res) => void res.json({ instance: name }));
  return app;
};

/** Waits until the plugin's own client is connected, so a test does not count a cold start. */
async function connected(plugin: RateLimitPlugin): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const r = await runPlugin(plugin, createTestContext({ ip: '192.0.2.250' }));
    if (r.headers['ratelimit-limit'] !== undefined) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('Redis never became ready');
}

describe('rateLimit (redis policy)', () => {
  it('counts down 4, 3, 2, 1, 0 on a 5-per-minute limit, then answers 429 with Retry-After', async () => {
    const plugin = redisLimit({ minute: 5, redis: { url: SHARED_REDIS, prefix: uniquePrefix('walk') } });
    await connected(plugin);
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await runPlugin(plugin, createTestContext()));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 429]);
    expect(results.map((r) => r.headers['ratelimit-remaining'])).toEqual(['4', '3', '2', '1', '0', '0']);
    expect(results[5]!.body).toEqual({ message: 'API rate limit exceeded' });
    expect(Number(results[5]!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(results[5]!.headers['retry-after']).toBe(results[5]!.headers['ratelimit-reset']);
  });

  it('increments no window when one is exhausted, atomically in Redis', async () => {
    const prefix = uniquePrefix('multi');
    const plugin = redisLimit({ minute: 2, hour: 10, redis: { url: SHARED_REDIS, prefix }, namespace: 'multi' });
    await connected(plugin);
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await runPlugin(plugin, createTestContext({ ip: '198.51.100.7' })));
    expect(results.map((r) => r.status)).toEqual([200, 200, 429, 429, 429]);
    expect(results.map((r) => r.headers['x-ratelimit-remaining-hour'])).toEqual(['9', '8', '8', '8', '8']);
    const redis = new Redis(SHARED_REDIS);
    const keys = await redis.keys(`${prefix}ratelimit:multi:{198.51.100.7}:*`);
    const values = Object.fromEntries(await Promise.all(keys.map(async (k) => [k.split(':').at(-2), await redis.get(k)])));
    expect(values).toEqual({ minute: '2', hour: '2' });
    const ttl = await redis.pttl(keys.find((k) => k.includes(':minute:'))!);
    // the rest of the clock's minute and 5 s of slack for instances whose clocks run behind
    const left = 60_000 - (clock() % 60_000);
    expect(ttl).toBeGreaterThan(left);
    expect(ttl).toBeLessThanOrEqual(left + 5_000);
    await redis.quit();
  });

  it('shares counters between two app instances with the same namespace', async () => {
    const prefix = uniquePrefix('two');
    const a = appWith(redisLimit({ minute: 3, limitBy: 'ip', namespace: 'orders', redis: { url: SHARED_REDIS, prefix } }), 'a');
    const b = appWith(redisLimit({ minute: 3, limitBy: 'ip', namespace: 'orders', redis: { url: SHARED_REDIS, prefix } }), 'b');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const seen = [];
    for (const app of [a, b, a, b]) {
      const res = await request(app).get('/');
      seen.push([res.body.instance ?? res.status, res.headers['ratelimit-remaining']]);
    }
    expect(seen).toEqual([['a', '2'], ['b', '1'], ['a', '0'], [429, '0']]);
  });

  it('keeps two routes with the same options apart by default', async () => {
    const prefix = uniquePrefix('routes');
    const first = redisLimit({ minute: 1, limitBy: 'ip', redis: { url: SHARED_REDIS, prefix } });
    const second = redisLimit({ minute: 1, limitBy: 'ip', redis: { url: SHARED_REDIS, prefix } });
    await connected(first);
    await connected(second);
    expect((await runPlugin(first, createTestContext({ url: '/a/x', mountPath: '/a' }))).status).toBe(200);
    expect((await runPlugin(first, createTestContext({ url: '/a/x', mountPath: '/a' }))).status).toBe(429);
    expect((await runPlugin(second, createTestContext({ url: '/b/x', mountPath: '/b' }))).status).toBe(200);
  });

  it('shares each route\'s counter between instances that built their routes in opposite orders', async () => {
    const prefix = uniquePrefix('order');
    const options = { minute: 2, limitBy: 'ip' as const, redis: { url: SHARED_REDIS, prefix } };
    // Instance 1 builds /a then /b; instance 2 builds /b then /a (same options everywhere).
    const one = express();
    const oneA = redisLimit(options);
    const oneB = redisLimit(options);
    one.use('/a', gateway(oneA), (_req, res) => void res.send('a1'));
    one.use('/b', gateway(oneB), (_req, res) => void res.send('b1'));
    const two = express();
    const twoB = redisLimit(options);
    const twoA = redisLimit(options);
    two.use('/b', gateway(twoB), (_req, res) => void res.send('b2'));
    two.use('/a', gateway(twoA), (_req, res) => void res.send('a2'));
    await Promise.all([oneA, oneB, twoA, twoB].map(connected));
    const statuses = async (app: express.Express, path: string) => (await request(app).get(path)).status;
    expect([await statuses(one, '/a/x'), await statuses(two, '/a/y'), await statuses(one, '/a'), await statuses(two, '/A/z')]).toEqual([200, 200, 429, 429]);
    // /b has its own budget, untouched by the four requests to /a.
    expect([await statuses(two, '/b'), await statuses(one, '/b/q'), await statuses(two, '/b')]).toEqual([200, 200, 429]);
  });

  it('uses an ioredis client the app passes, and leaves it open on close()', async () => {
    const client = new Redis(SHARED_REDIS);
    try {
      const plugin = rateLimit({ minute: 2, policy: 'redis', now: clock, redis: { client, prefix: uniquePrefix('client') } });
      await connected(plugin);
      expect((await runPlugin(plugin, createTestContext())).headers['ratelimit-remaining']).toBe('1');
      expect((await runPlugin(plugin, createTestContext())).headers['ratelimit-remaining']).toBe('0');
      expect((await runPlugin(plugin, createTestContext())).status).toBe(429);
      await plugin.close();
      expect(await client.ping()).toBe('PONG');
    } finally {
      await client.quit();
    }
  });
});

describe('rateLimit (redis policy) across processes', () => {
  let child: ChildProcess | undefined;
  let server: Server | undefined;
  afterAll(() => {
    child?.kill('SIGTERM');
    server?.close();
  });

  it('admits exactly the limit from 300 concurrent requests to two instances, one in another process', async () => {
    const options = { day: 100, limitBy: 'ip' as const, redis: { url: SHARED_REDIS, prefix: uniquePrefix('exact') } };
    // No namespace: the default must be the same in every process running the same code.
    const local = redisLimit(options);
    const fixture = path.join(__dirname, 'fixtures', 'instance.ts');
    child = spawn(process.execPath, ['--import', 'tsx', fixture], {
      cwd: path.resolve(__dirname, '../../..'),
      env: { ...process.env, RL_OPTIONS: JSON.stringify({ policy: 'redis', ...options }), RL_NOW: String(clock()) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const childPort = await new Promise<number>((resolve, reject) => {
      child!.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
      child!.once('exit', (code) => reject(new Error(`instance exited with ${code}`)));
    });
    server = appWith(local, 'parent').listen(0, '127.0.0.1');
    await new Promise((resolve) => server!.once('listening', resolve));
    const parentPort = (server.address() as AddressInfo).port;

    const statuses = await Promise.all(
      Array.from({ length: 300 }, (_, i) => fetch(`http://127.0.0.1:${i % 2 ? childPort : parentPort}/`).then(async (r) => {
        await r.arrayBuffer();
        return r.status;
      })),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(100);
    expect(statuses.filter((s) => s === 429)).toHaveLength(200);
    // each instance answered 150 requests: counting apart, each would have admitted 100
    const perInstance = [0, 1].map((odd) => statuses.filter((_, i) => i % 2 === odd).length);
    expect(perInstance).toEqual([150, 150]);
  }, 30_000);
});

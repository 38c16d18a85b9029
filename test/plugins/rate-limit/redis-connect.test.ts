/**
 * A Redis-backed rateLimit on a fresh instance: connecting is not an outage (requests wait for the
 * first connection, bounded by `connectTimeout`), and close() settles promptly whatever Redis does.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import Redis from 'ioredis';
import { rateLimit, type RateLimitOptions, type RateLimitPlugin } from 'tollgate';
import { createTestContext, runPlugin } from 'tollgate/testing';
import { freePort } from '../../support/ports';
import { captureLogs, OwnRedis, SHARED_REDIS, sleep, testClock, uniquePrefix } from './support';

/** Every plugin of this file counts on one standing clock (each test has its own key prefix). */
const clock = testClock();
const plugins: RateLimitPlugin[] = [];
const redisLimit = (options: Omit<RateLimitOptions, 'policy'>): RateLimitPlugin => {
  const plugin = rateLimit({ policy: 'redis', now: clock, ...options });
  plugins.push(plugin);
  return plugin;
};
afterAll(async () => {
  await Promise.all(plugins.map((p) => p.close()));
});

const statuses = (results: { status: number }[]) => ({
  admitted: results.filter((r) => r.status === 200).length,
  refused: results.filter((r) => r.status === 429).length,
});

describe('rateLimit (redis policy) on a fresh instance', () => {
  it('admits exactly the limit from 80 concurrent requests sent to two instances while they connect', async () => {
    const options = { hour: 25, limitBy: 'ip' as const, namespace: 'cold', redis: { url: SHARED_REDIS, prefix: uniquePrefix('cold') } };
    const instances = [redisLimit(options), redisLimit(options)];
    // Every request is issued before either client has had a chance to connect.
    const results = await Promise.all(Array.from({ length: 80 }, (_, i) => runPlugin(instances[i % 2]!, createTestContext({ ip: '203.0.113.9' }))));
    expect(statuses(results)).toEqual({ admitted: 25, refused: 55 });
    // Counted, not let through uncounted: every answer carries the usage.
    expect(results.every((r) => r.headers['x-ratelimit-limit-hour'] === '25')).toBe(true);
  });

  it('waits for an ioredis client the app passes while it is still connecting', async () => {
    const client = new Redis(SHARED_REDIS);
    try {
      const plugin = redisLimit({ hour: 3, limitBy: 'ip', redis: { client, prefix: uniquePrefix('app-client') } });
      expect(client.status).toBe('connecting');
      const results = await Promise.all(Array.from({ length: 5 }, () => runPlugin(plugin, createTestContext())));
      expect(statuses(results)).toEqual({ admitted: 3, refused: 2 });
    } finally {
      client.disconnect();
    }
  });

  it('connects an app client created with lazyConnect at its first request', async () => {
    const client = new Redis(SHARED_REDIS, { lazyConnect: true });
    try {
      const plugin = redisLimit({ hour: 1, limitBy: 'ip', redis: { client, prefix: uniquePrefix('lazy') } });
      await sleep(50);
      expect(client.status).toBe('wait'); // constructing the plugin did not connect it
      expect((await runPlugin(plugin, createTestContext())).headers['x-ratelimit-remaining-hour']).toBe('0');
      expect((await runPlugin(plugin, createTestContext())).status).toBe(429);
    } finally {
      client.disconnect();
    }
  });

  describe('when the first connection does not come', () => {
    let silent: net.Server;
    let port: number;
    const sockets: net.Socket[] = [];
    beforeAll(async () => {
      // Accepts connections and never answers: a Redis host that hangs.
      silent = net.createServer((socket) => void sockets.push(socket));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      port = (silent.address() as net.AddressInfo).port;
    });
    afterAll(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    });

    it('waits at most connectTimeout, then acts as in an outage and answers at once from then on', async () => {
      const logs = captureLogs();
      const tolerant = rateLimit({ hour: 5, policy: 'redis', now: clock, redis: { url: `redis://127.0.0.1:${port}`, connectTimeout: 300 } });
      const strict = rateLimit({ hour: 5, policy: 'redis', now: clock, redis: { url: `redis://127.0.0.1:${port}`, connectTimeout: 300 }, faultTolerant: false });
      try {
        const started = performance.now();
        const [a, b] = await Promise.all([runPlugin(tolerant, createTestContext()), runPlugin(strict, createTestContext())]);
        const waited = performance.now() - started;
        expect(waited).toBeGreaterThanOrEqual(250);
        expect(waited).toBeLessThan(1_000);
        expect(a.status).toBe(200);
        expect(a.headers['x-ratelimit-limit-hour']).toBeUndefined();
        expect(b.status).toBe(500);
        expect(b.body).toEqual({ message: 'An unexpected error occurred' });

        const again = performance.now();
        expect((await runPlugin(tolerant, createTestContext())).status).toBe(200);
        expect(performance.now() - again).toBeLessThan(100);
        expect(logs.count('warn', /rateLimit: Redis is unavailable/)).toBe(2); // once per plugin
        expect(logs.lines.find((l) => l.level === 'warn')?.message).toBe('rateLimit: Redis is unavailable');
      } finally {
        await Promise.all([tolerant.close(), strict.close()]);
        logs.restore();
      }
    });
  });
});

describe('rateLimit (redis policy) close()', () => {
  it('settles promptly while Redis is down and the client is reconnecting', async () => {
    const redis = await OwnRedis.create();
    const logs = captureLogs();
    try {
      const plugin = rateLimit({ hour: 5, policy: 'redis', now: clock, redis: { url: redis.url, prefix: uniquePrefix('close') } });
      expect((await runPlugin(plugin, createTestContext())).headers['x-ratelimit-remaining-hour']).toBe('4');
      await redis.kill();
      await sleep(300); // the client has lost its connection and waits between reconnect attempts
      const started = performance.now();
      await plugin.close();
      expect(performance.now() - started).toBeLessThan(500);
    } finally {
      logs.restore();
      await redis.kill();
    }
  });

  it('keeps the process alive until close() settles, so shutdown code after it runs', async () => {
    // In a process of its own: a close() that never settles lets Node exit (code 0) before the
    // code after `await close()` runs, which no in-process test can see.
    const deadPort = await freePort();
    const fixture = path.join(__dirname, 'fixtures', 'close-while-down.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
      cwd: path.resolve(__dirname, '../../..'),
      env: { ...process.env, REDIS_URL: `redis://127.0.0.1:${deadPort}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(out).toMatch(/^down\nclosed in \d+ ms\n$/);
    expect(Number(/closed in (\d+) ms/.exec(out)![1])).toBeLessThan(1_000);
    expect(code).toBe(0);
  }, 20_000);
});

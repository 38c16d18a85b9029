import express from 'express';
import Redis from 'ioredis';
import request from 'supertest';
import { rateLimit, type RateLimitOptions, type RateLimitPlugin } from 'tollgate';
import { gateway } from 'tollgate/express';
import { captureLogs, OwnRedis, sleep, testClock, uniquePrefix } from './support';

/** Every plugin of this file counts on one standing clock (each test has its own key prefix). */
const clock = testClock();
const RATE_HEADERS = /^(x-ratelimit|ratelimit|retry-after)/;

const plugins: RateLimitPlugin[] = [];
function appWith(options: Omit<RateLimitOptions, 'policy' | 'minute'>) {
  const plugin = rateLimit({ minute: 5, policy: 'redis', limitBy: 'ip', now: clock, ...options });
  plugins.push(plugin);
  const app = express();
  app.use(gateway(plugin));
  app.get('/', (_req, res) => void res.json({ ok: true }));
  return app;
}

/** One request, with how long it took. */
async function timed(app: express.Express) {
  const started = performance.now();
  const res = await request(app).get('/');
  return { res, ms: performance.now() - started, rateHeaders: Object.keys(res.headers).filter((h) => RATE_HEADERS.test(h)) };
}

let logs: ReturnType<typeof captureLogs>;
beforeEach(() => {
  logs = captureLogs();
});
afterEach(() => logs.restore());
const closeAll = () => Promise.all(plugins.splice(0).map((p) => p.close()));
afterAll(closeAll);

describe('rateLimit when Redis is unreachable (dead port)', () => {
  it('faultTolerant: lets requests through fast, without rate-limit headers, logging the outage once', async () => {
    const app = appWith({ redis: { url: 'redis://127.0.0.1:1' }, faultTolerant: true });
    for (let i = 0; i < 8; i++) {
      const { res, ms, rateHeaders } = await timed(app);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ ok: true });
      expect(rateHeaders).toEqual([]);
      expect(ms).toBeLessThan(400);
    }
    expect(logs.count('warn', /rateLimit: Redis is unavailable/)).toBe(1);
  });

  it('not faultTolerant: answers 500 with the generic message, fast, without rate-limit headers', async () => {
    const app = appWith({ redis: { url: 'redis://127.0.0.1:1' }, faultTolerant: false });
    for (let i = 0; i < 5; i++) {
      const { res, ms, rateHeaders } = await timed(app);
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ message: 'An unexpected error occurred' });
      expect(rateHeaders).toEqual([]);
      expect(ms).toBeLessThan(400);
    }
    expect(logs.count('warn', /Redis is unavailable/)).toBeLessThanOrEqual(1);
  });

  it('does not wait on the reconnect loop of an ioredis client the app passed', async () => {
    // ioredis defaults: offline queue on, 20 retries per request. Queued, a command would wait.
    const client = new Redis('redis://127.0.0.1:1');
    client.on('error', () => {});
    try {
      const app = appWith({ redis: { client }, faultTolerant: true });
      for (let i = 0; i < 3; i++) {
        const { res, ms } = await timed(app);
        expect(res.status).toBe(200);
        expect(ms).toBeLessThan(400);
      }
    } finally {
      client.disconnect();
    }
  });
});

describe('rateLimit when Redis stops, is slow, and comes back', () => {
  let redis: OwnRedis;
  beforeAll(async () => {
    redis = await OwnRedis.create();
  });
  afterAll(async () => {
    await closeAll();
    await redis.kill();
  });

  it('passes requests without headers while Redis is down and resumes counting when it returns, with no restart', async () => {
    const app = appWith({ redis: { url: redis.url, prefix: uniquePrefix('restart') }, faultTolerant: true });
    await sleep(100);
    expect((await timed(app)).res.headers['x-ratelimit-remaining-minute']).toBe('4');
    expect((await timed(app)).res.headers['x-ratelimit-remaining-minute']).toBe('3');

    await redis.kill();
    for (let i = 0; i < 5; i++) {
      const { res, ms, rateHeaders } = await timed(app);
      expect(res.status).toBe(200);
      expect(rateHeaders).toEqual([]);
      expect(ms).toBeLessThan(600);
    }
    expect(logs.count('warn', /Redis is unavailable/)).toBe(1);

    await redis.start();
    let counted: string | undefined;
    for (let i = 0; i < 100 && counted === undefined; i++) {
      counted = (await timed(app)).res.headers['x-ratelimit-remaining-minute'] as string | undefined;
      if (counted === undefined) await sleep(50);
    }
    // a fresh redis-server (no persistence): counting starts again from the limit
    expect(counted).toBe('4');
    expect((await timed(app)).res.headers['x-ratelimit-remaining-minute']).toBe('3');
    expect(logs.count('warn', /Redis is unavailable/)).toBe(1);
    // The recovery is reported once nothing has failed for a second (no flapping log when only
    // some commands fail, as with one master of a cluster down).
    await sleep(1_100);
    expect((await timed(app)).res.headers['x-ratelimit-remaining-minute']).toBe('2');
    expect(logs.count('warn', /Redis is unavailable/)).toBe(1);
    expect(logs.count('info', /Redis is available again/)).toBe(1);
  }, 15_000);

  it('answers within the command timeout when Redis stops answering, and counts again after', async () => {
    const tolerant = appWith({ redis: { url: redis.url, prefix: uniquePrefix('slow'), commandTimeout: 200 }, faultTolerant: true });
    const strict = appWith({ redis: { url: redis.url, prefix: uniquePrefix('slow'), commandTimeout: 200 }, faultTolerant: false });
    await sleep(100);
    expect((await timed(tolerant)).res.headers['x-ratelimit-remaining-minute']).toBe('4');
    expect((await timed(strict)).res.headers['x-ratelimit-remaining-minute']).toBe('4');

    expect(await redis.command('CLIENT PAUSE 1500 ALL')).toBe('+OK');
    const slow = await timed(tolerant);
    expect(slow.res.status).toBe(200);
    expect(slow.rateHeaders).toEqual([]);
    expect(slow.ms).toBeLessThan(1_000);
    const refused = await timed(strict);
    expect(refused.res.status).toBe(500);
    expect(refused.res.body).toEqual({ message: 'An unexpected error occurred' });
    expect(refused.ms).toBeLessThan(1_000);

    await sleep(1_600);
    let counted: string | undefined;
    for (let i = 0; i < 60 && counted === undefined; i++) {
      counted = (await timed(tolerant)).res.headers['x-ratelimit-remaining-minute'] as string | undefined;
      if (counted === undefined) await sleep(50);
    }
    // the paused command may or may not have run once Redis resumed: 3 or 2 left
    expect(['3', '2']).toContain(counted);
  }, 15_000);
});

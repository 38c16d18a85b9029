/**
 * Redis goes down, turns slow, or restarts under load: rateLimit follows `faultTolerant` (let
 * through without headers, or 500 JSON), proxyCache answers `X-Cache-Status: Bypass` and the
 * request still succeeds, every request is answered within a bound, and counting and caching
 * resume after Redis comes back without restarting the app. Uses a redis-server of its own.
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { proxyCache, rateLimit, type ProxyCachePlugin, type RateLimitPlugin } from 'tollgate';
import { gateway } from 'tollgate/express';
import { json, send, statusOf, tally, type Outcome } from './support/client';
import { useJournal } from './support/journal';
import { DEBUG_COMMANDS, OwnRedis } from './support/redis-server';
import { MID_WINDOW, sleep, until } from './support/timing';

const journal = useJournal('redis-faults');
const COMMAND_TIMEOUT = 300;
/** Every request is answered within this, whatever Redis does (two lookups of 300 ms at most, plus margin). */
const BOUND_MS = 1_500;
const REMAINING = 'x-ratelimit-remaining-hour';
const RATE_HEADERS = /^(x-ratelimit|ratelimit|retry-after)/;

let redis: OwnRedis;
let server: Server;
let base: string;
const handled = new Map<string, number>();
const plugins: (RateLimitPlugin | ProxyCachePlugin)[] = [];

const rateHeaders = (o: Outcome) => Object.keys(o.headers).filter((h) => RATE_HEADERS.test(h));
const get = (path: string) => send(journal, `${base}${path}`, { timeoutMs: 10_000 });

beforeAll(async () => {
  redis = await OwnRedis.create(DEBUG_COMMANDS);
  const prefix = `rel-redis-${randomBytes(4).toString('hex')}:`;
  const redisOptions = { url: redis.url, prefix, commandTimeout: COMMAND_TIMEOUT };
  const limit = (faultTolerant: boolean) => rateLimit({ hour: 100_000, limitBy: 'ip', policy: 'redis', redis: redisOptions, faultTolerant, namespace: `ft-${faultTolerant}`, now: () => MID_WINDOW });
  const cache = () => proxyCache({ strategy: 'redis', redis: redisOptions, cacheTtl: 300 });
  const tolerant = [limit(true), cache()] as const;
  const strict = [limit(false), cache()] as const;
  plugins.push(...tolerant, ...strict);
  const app = express();
  app.use('/tolerant', gateway(...tolerant));
  app.use('/strict', gateway(...strict));
  app.get('/{*path}', (req, res) => {
    handled.set(req.originalUrl, (handled.get(req.originalUrl) ?? 0) + 1);
    res.json({ path: req.originalUrl });
  });
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // Both clients connected before the first request.
  await until(async () => ((await get('/tolerant/warm')).headers[REMAINING] !== undefined || undefined), 5_000);
});

afterAll(async () => {
  await Promise.all(plugins.map((p) => p.close()));
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await redis.kill();
});

/** Requests passed through uncounted (no rate-limit headers) while polling for {@link countingAgain}. */
let uncounted = 0;
/** Waits until the rate limiter counts again (its header is back) and returns that response. */
const countingAgain = (path: string) => {
  uncounted = 0;
  return until(async () => {
    const o = await get(path);
    if (o.headers[REMAINING] !== undefined) return o;
    uncounted++;
    await sleep(50);
    return undefined;
  }, 8_000);
};

describe('rateLimit and proxyCache when Redis fails', () => {
  it('count and cache while Redis is healthy', async () => {
    const miss = await get('/tolerant/a');
    const hit = await get('/tolerant/a');
    expect([miss.status, miss.headers['x-cache-status']]).toEqual([200, 'Miss']);
    expect([hit.status, hit.headers['x-cache-status']]).toEqual([200, 'Hit']);
    expect(Number(hit.headers[REMAINING])).toBe(Number(miss.headers[REMAINING]) - 1);
    expect(handled.get('/tolerant/a')).toBe(1);
  });

  it('Redis killed: faultTolerant passes without headers, strict answers 500 JSON, the cache bypasses, all within the bound', async () => {
    await redis.kill();
    const tolerant: Outcome[] = [];
    const strict: Outcome[] = [];
    for (let i = 0; i < 20; i++) {
      tolerant.push(await get('/tolerant/a'));
      strict.push(await get('/strict/a'));
    }
    for (const o of tolerant) {
      expect([o.status, o.headers['x-cache-status'], rateHeaders(o)]).toEqual([200, 'Bypass', []]);
      expect(json(o)).toEqual({ path: '/tolerant/a' });
      expect(o.ms).toBeLessThan(BOUND_MS);
    }
    for (const o of strict) {
      expect(o.status).toBe(500);
      expect(json(o)).toEqual({ message: 'An unexpected error occurred' });
      expect(rateHeaders(o)).toEqual([]);
      expect(o.ms).toBeLessThan(BOUND_MS);
    }
    // The cached entry could not be read, so every request reached the handler.
    expect(handled.get('/tolerant/a')).toBe(21);
    journal.figure('Redis killed: 20 + 20 requests, slowest answer (ms)', Math.max(...tolerant.concat(strict).map((o) => o.ms)));
  });

  it('Redis back: counting and caching resume without a restart', async () => {
    await redis.start();
    const first = await countingAgain('/tolerant/b');
    const next = await get('/tolerant/b');
    // A fresh redis-server (no persistence) starts counting again; the cache starts empty.
    expect(first.headers['x-cache-status']).toBe('Miss');
    expect(next.headers['x-cache-status']).toBe('Hit');
    expect(Number(next.headers[REMAINING])).toBe(Number(first.headers[REMAINING]) - 1);
    const strict = await countingAgain('/strict/b');
    expect(strict.status).toBe(200);
    expect(strict.headers[REMAINING]).toBe('99999');
  });

  it('Redis asleep (DEBUG SLEEP): answers within the bound, then counts again; timed-out increments land at most once', async () => {
    const before = Number((await get('/tolerant/c')).headers[REMAINING]);
    await redis.sleep(2);
    await sleep(50);
    const during = await Promise.all([...Array.from({ length: 5 }, () => get('/tolerant/c')), ...Array.from({ length: 5 }, () => get('/strict/c'))]);
    const [tolerant, strict] = [during.slice(0, 5), during.slice(5)];
    for (const o of tolerant) {
      expect([o.status, o.headers['x-cache-status'], rateHeaders(o)]).toEqual([200, 'Bypass', []]);
      expect(o.ms).toBeLessThan(BOUND_MS);
    }
    for (const o of strict) {
      expect([o.status, json(o)]).toEqual([500, { message: 'An unexpected error occurred' }]);
      expect(o.ms).toBeLessThan(BOUND_MS);
    }
    const after = await countingAgain('/tolerant/c');
    // Scripts that timed out still run when Redis wakes: the count moves by 1 (this request) plus
    // at most one for each request let through uncounted meanwhile (the 5 above and the polls).
    const moved = before - Number(after.headers[REMAINING]);
    expect(moved).toBeGreaterThanOrEqual(1);
    expect(moved).toBeLessThanOrEqual(1 + 5 + uncounted);
    journal.figure('Redis asleep 2 s: slowest answer (ms), count moved / requests let through', {
      ms: Math.max(...during.map((o) => o.ms)),
      moved,
      letThrough: 5 + uncounted,
    });
  });

  it('Redis restarted under load: every request answered within the bound, tolerant all 200, strict only 200 or 500, then exact counting', async () => {
    const outcomes: { mount: string; o: Outcome }[] = [];
    let stop = false;
    let n = 0;
    const loop = async (mount: string) => {
      while (!stop) outcomes.push({ mount, o: await get(`/${mount}/load-${n++ % 10}`) });
    };
    const loops = [...Array.from({ length: 6 }, () => loop('tolerant')), ...Array.from({ length: 3 }, () => loop('strict'))];
    await sleep(700);
    await redis.kill();
    const killedAt = outcomes.length;
    await sleep(1_200);
    await redis.start();
    // ioredis retries every 100 ms × attempt (2 s at most): 2.5 s leaves room to count again.
    await sleep(2_500);
    stop = true;
    await Promise.all(loops);

    const tolerant = outcomes.filter((x) => x.mount === 'tolerant').map((x) => x.o);
    const strict = outcomes.filter((x) => x.mount === 'strict').map((x) => x.o);
    const byStatus = { tolerant: tally(tolerant, statusOf), strict: tally(strict, statusOf) };
    expect(Object.keys(byStatus.tolerant)).toEqual(['200']);
    expect(Object.keys(byStatus.strict).sort()).toEqual(['200', '500']);
    for (const o of strict.filter((s) => s.status === 500)) expect(json(o)).toEqual({ message: 'An unexpected error occurred' });
    const slowest = Math.max(...outcomes.map((x) => x.o.ms));
    expect(slowest).toBeLessThan(BOUND_MS);
    // Some requests during the outage went without counting, some after it were counted again.
    expect(tolerant.filter((o) => rateHeaders(o).length === 0).length).toBeGreaterThan(0);
    expect(tolerant.slice(-5).every((o) => o.headers[REMAINING] !== undefined)).toBe(true);
    expect(killedAt).toBeGreaterThan(0);

    // After the load: one request, one count, exactly.
    const seq: number[] = [];
    for (let i = 0; i < 5; i++) seq.push(Number((await get('/tolerant/after')).headers[REMAINING]));
    expect(seq.map((r) => seq[0]! - r)).toEqual([0, 1, 2, 3, 4]);
    const [miss, hit] = [await get('/tolerant/fresh-after-restart'), await get('/tolerant/fresh-after-restart')];
    expect([miss.headers['x-cache-status'], hit.headers['x-cache-status']]).toEqual(['Miss', 'Hit']);
    journal.figure('Redis restarted under load (9 loops, 4.4 s, Redis down 1.2 s)', { requests: outcomes.length, ...byStatus, slowestMs: slowest });
  });
});

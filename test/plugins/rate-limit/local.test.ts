import { definePlugin, rateLimit, type RateLimitOptions } from 'tollgate';
import { createTestContext, runPlugin, type TestRequestOptions } from 'tollgate/testing';
import { secondsLeft, testClock, type TestClock } from './support';

const MINUTE = 60_000;
const HOUR = 3_600_000;

let clock: TestClock;
beforeEach(() => {
  clock = testClock();
});

/** rateLimit on the test's clock. */
const limit = (options: RateLimitOptions) => rateLimit({ now: clock, ...options });

/** Sends `n` requests through one plugin and returns the results. */
async function send(plugin: ReturnType<typeof limit>, n: number, request: TestRequestOptions = {}) {
  const results = [];
  for (let i = 0; i < n; i++) results.push(await runPlugin(plugin, createTestContext(request)));
  return results;
}

const remaining = (results: Awaited<ReturnType<typeof send>>, header = 'ratelimit-remaining') => results.map((r) => r.headers[header]);

describe('rateLimit (local policy, runPlugin)', () => {
  it('counts down 4, 3, 2, 1, 0 on a 5-per-minute limit, then answers 429 with Retry-After', async () => {
    const plugin = limit({ minute: 5, policy: 'local' });
    const results = await send(plugin, 6);
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 429]);
    expect(remaining(results)).toEqual(['4', '3', '2', '1', '0', '0']);
    expect(remaining(results, 'x-ratelimit-remaining-minute')).toEqual(['4', '3', '2', '1', '0', '0']);
    for (const r of results) {
      expect(r.headers['x-ratelimit-limit-minute']).toBe('5');
      expect(r.headers['ratelimit-limit']).toBe('5');
      const reset = Number(r.headers['ratelimit-reset']);
      expect(reset).toBeGreaterThanOrEqual(1);
      expect(reset).toBeLessThanOrEqual(60);
    }
    const refused = results[5]!;
    expect(refused.exited).toBe(true);
    expect(refused.body).toEqual({ message: 'API rate limit exceeded' });
    expect(refused.headers['retry-after']).toBe(refused.headers['ratelimit-reset']);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(results[4]!.headers['retry-after']).toBeUndefined();
  });

  it('lets the request through to the handler while under the limit', async () => {
    const plugin = limit({ minute: 2 });
    const result = await runPlugin(plugin, createTestContext(), { status: 201, body: { created: true } });
    expect(result.exited).toBe(false);
    expect(result.status).toBe(201);
    expect(result.body).toEqual({ created: true });
    expect(result.headers['ratelimit-remaining']).toBe('1');
  });

  it('checks every window, and a request refused by one window does not use up the others', async () => {
    const plugin = limit({ minute: 3, hour: 10 });
    const results = await send(plugin, 5);
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 429, 429]);
    expect(remaining(results, 'x-ratelimit-remaining-minute')).toEqual(['2', '1', '0', '0', '0']);
    // the hour counted only the 3 admitted requests
    expect(remaining(results, 'x-ratelimit-remaining-hour')).toEqual(['9', '8', '7', '7', '7']);
    expect(results[0]!.headers['x-ratelimit-limit-hour']).toBe('10');
    // RateLimit-* describe the window closest to its limit: the minute
    expect(remaining(results)).toEqual(['2', '1', '0', '0', '0']);
    expect(results[3]!.headers['ratelimit-limit']).toBe('3');
  });

  it('reports the longer window in RateLimit-* when two windows have as few requests left', async () => {
    const plugin = limit({ minute: 2, hour: 2 });
    const [first] = await send(plugin, 1);
    expect(first!.headers['ratelimit-remaining']).toBe('1');
    const reset = Number(first!.headers['ratelimit-reset']);
    // the hour's reset, not the minute's
    expect(reset).toBe(secondsLeft(clock(), HOUR));
    expect(reset).toBeGreaterThan(secondsLeft(clock(), MINUTE));
  });

  it('refuses by the hour window when it is the one exhausted, with Retry-After up to the end of the hour', async () => {
    const plugin = limit({ second: 5, hour: 5 });
    const results = await send(plugin, 6);
    expect(results[5]!.status).toBe(429);
    expect(results[5]!.headers['x-ratelimit-remaining-hour']).toBe('0');
    const retry = Number(results[5]!.headers['retry-after']);
    expect(retry).toBe(secondsLeft(clock(), HOUR));
  });

  it('admits again when a one-second window rolls over', async () => {
    const plugin = limit({ second: 1 });
    const [first, second] = await send(plugin, 2);
    expect(first!.status).toBe(200);
    expect(first!.headers['ratelimit-remaining']).toBe('0');
    expect(second!.status).toBe(429);
    expect(second!.headers['retry-after']).toBe('1');
    clock.advance(499); // still the same second
    expect((await send(plugin, 1))[0]!.status).toBe(429);
    clock.advance(1);
    const [third] = await send(plugin, 1);
    expect(third!.status).toBe(200);
  });

  it('answers errorCode with errorMessage when configured', async () => {
    const plugin = limit({ minute: 1, errorCode: 404, errorMessage: 'Fake Not Found' });
    const [, refused] = await send(plugin, 2);
    expect(refused!.status).toBe(404);
    expect(refused!.body).toEqual({ message: 'Fake Not Found' });
    expect(refused!.headers['retry-after']).toBeDefined();
  });

  it('adds request_id to the refusal when a plugin set one', async () => {
    const id = definePlugin({
      name: 'request-id',
      priority: 2000,
      access(ctx) {
        ctx.requestId = 'req-1';
      },
    });
    const plugin = limit({ minute: 1 });
    await runPlugin([id, plugin], createTestContext());
    const refused = await runPlugin([id, plugin], createTestContext());
    expect(refused.body).toEqual({ message: 'API rate limit exceeded', request_id: 'req-1' });
  });

  it('sends no rate-limit header at all with hideClientHeaders, not even Retry-After', async () => {
    const plugin = limit({ minute: 1, hideClientHeaders: true });
    const [ok, refused] = await send(plugin, 2);
    expect(ok!.status).toBe(200);
    expect(refused!.status).toBe(429);
    for (const r of [ok!, refused!]) {
      expect(Object.keys(r.headers).filter((h) => /ratelimit|retry-after/i.test(h))).toEqual([]);
    }
  });

  it('keeps the counters of each plugin instance to itself, whatever their namespace', async () => {
    const a = limit({ minute: 1 });
    const b = limit({ minute: 1 });
    expect((await send(a, 1))[0]!.status).toBe(200);
    expect((await send(b, 1))[0]!.status).toBe(200);
    // Nothing process-wide: a second plugin with the same namespace has counters of its own.
    const c = limit({ minute: 1, namespace: 'shared-local-test' });
    const d = limit({ minute: 1, namespace: 'shared-local-test' });
    expect((await send(c, 1))[0]!.status).toBe(200);
    expect((await send(d, 1))[0]!.status).toBe(200);
  });

  it('counts one plugin per route, or across its routes with a namespace', async () => {
    const at = (mountPath: string) => createTestContext({ url: `${mountPath}/x`, mountPath });
    const perRoute = limit({ minute: 1 });
    expect((await runPlugin(perRoute, at('/a'))).status).toBe(200);
    expect((await runPlugin(perRoute, at('/b'))).status).toBe(200);
    expect((await runPlugin(perRoute, at('/A'))).status).toBe(429);
    const oneBudget = limit({ minute: 1, namespace: 'orders' });
    expect((await runPlugin(oneBudget, at('/a'))).status).toBe(200);
    expect((await runPlugin(oneBudget, at('/b'))).status).toBe(429);
  });
});

describe('rateLimit limitBy', () => {
  const statuses = async (options: RateLimitOptions, requests: TestRequestOptions[]) => {
    const plugin = limit({ minute: 1, ...options });
    const out = [];
    for (const request of requests) out.push((await runPlugin(plugin, createTestContext(request))).status);
    return out;
  };

  it('consumer: counts by consumer id, falls back to the credential id, then to the client IP', async () => {
    expect(
      await statuses({ limitBy: 'consumer' }, [
        { consumer: { id: 'alice' }, credential: { id: 'k1', type: 'bearer' }, ip: '10.0.0.1' },
        { consumer: { id: 'alice' }, credential: { id: 'k2', type: 'bearer' }, ip: '10.0.0.2' }, // same consumer
        { consumer: { id: 'bob' }, ip: '10.0.0.1' },
        { credential: { id: 'k1', type: 'bearer' }, ip: '10.0.0.3' }, // no consumer: credential k1
        { credential: { id: 'k1', type: 'bearer' }, ip: '10.0.0.4' },
        { ip: '10.0.0.5' }, // anonymous: by IP
        { ip: '10.0.0.5' },
        { ip: '10.0.0.6' },
      ]),
    ).toEqual([200, 429, 200, 200, 429, 200, 429, 200]);
  });

  it('consumer: a consumer named like an IP address does not share that address\'s counter', async () => {
    expect(await statuses({}, [{ consumer: { id: '10.0.0.9' }, ip: '10.0.0.1' }, { ip: '10.0.0.9' }])).toEqual([200, 200]);
  });

  it('credential: counts by credential id, else by IP', async () => {
    expect(
      await statuses({ limitBy: 'credential' }, [
        { consumer: { id: 'alice' }, credential: { id: 'k1', type: 'bearer' } },
        { consumer: { id: 'alice' }, credential: { id: 'k2', type: 'bearer' } }, // same consumer, other key
        { consumer: { id: 'bob' }, credential: { id: 'k1', type: 'bearer' } },
        { consumer: { id: 'carol' }, ip: '10.0.0.7' },
        { consumer: { id: 'dave' }, ip: '10.0.0.7' },
      ]),
    ).toEqual([200, 200, 429, 200, 429]);
  });

  it('ip: counts by client IP whoever authenticated', async () => {
    expect(
      await statuses({ limitBy: 'ip' }, [
        { consumer: { id: 'alice' }, ip: '10.0.0.1' },
        { consumer: { id: 'bob' }, ip: '10.0.0.1' },
        { consumer: { id: 'alice' }, ip: '10.0.0.2' },
      ]),
    ).toEqual([200, 429, 200]);
  });

  it('header: counts by the header value, else by IP; long values are hashed, not stored', async () => {
    const long = 'k'.repeat(5000);
    expect(
      await statuses({ limitBy: 'header', headerName: 'X-API-Key' }, [
        { headers: { 'x-api-key': 'one' }, ip: '10.0.0.1' },
        { headers: { 'x-api-key': 'one' }, ip: '10.0.0.2' },
        { headers: { 'x-api-key': 'two' }, ip: '10.0.0.1' },
        { ip: '10.0.0.3' },
        { ip: '10.0.0.3' },
        { headers: { 'x-api-key': long } },
        { headers: { 'x-api-key': long } },
        { headers: { 'x-api-key': `${long}x` } },
      ]),
    ).toEqual([200, 429, 200, 200, 429, 200, 429, 200]);
  });

  it('path: requests to exactly that path share one counter; other paths count by IP', async () => {
    expect(
      await statuses({ limitBy: 'path', path: '/api/orders' }, [
        { url: '/api/orders', mountPath: '/api', ip: '10.0.0.1' },
        { url: '/api/orders?page=2', mountPath: '/api', ip: '10.0.0.2' }, // same path, other client
        { url: '/api/users', mountPath: '/api', ip: '10.0.0.1' },
        { url: '/api/users', mountPath: '/api', ip: '10.0.0.1' },
        { url: '/api/users', mountPath: '/api', ip: '10.0.0.2' },
      ]),
    ).toEqual([200, 429, 200, 429, 200]);
  });

  it('service: every client of one mount shares a counter; another mount has its own', async () => {
    expect(
      await statuses({ limitBy: 'service' }, [
        { url: '/httpbin/get', mountPath: '/httpbin', ip: '10.0.0.1', consumer: { id: 'alice' } },
        { url: '/httpbin/anything', mountPath: '/httpbin', ip: '10.0.0.2', consumer: { id: 'bob' } },
        { url: '/orders/1', mountPath: '/orders', ip: '10.0.0.1' },
      ]),
    ).toEqual([200, 429, 200]);
  });
});

import { Readable } from 'node:stream';
import express from 'express';
import Koa from 'koa';
import request from 'supertest';
import { definePlugin, proxyCache, rateLimit } from 'tollgate';
import { gateway } from 'tollgate/express';
import { gateway as koaGateway } from 'tollgate/koa';
import { testClock, type TestClock } from './support';

const expressApp = (configure?: (app: express.Express) => void, ...plugins: Parameters<typeof gateway>) => {
  const app = express();
  configure?.(app);
  app.use(gateway(...plugins));
  app.get('/', (_req, res) => void res.json({ from: 'route' }));
  return app;
};

describe('rateLimit with Express', () => {
  let now: TestClock;
  beforeEach(() => {
    now = testClock();
  });

  it('adds the headers to the response an Express route produced, then refuses with JSON', async () => {
    const app = expressApp(undefined, rateLimit({ minute: 2, limitBy: 'ip', now }));
    const first = await request(app).get('/');
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ from: 'route' });
    expect(first.headers['x-ratelimit-remaining-minute']).toBe('1');
    expect(first.headers['ratelimit-remaining']).toBe('1');
    await request(app).get('/');
    const refused = await request(app).get('/');
    expect(refused.status).toBe(429);
    expect(refused.headers['content-type']).toMatch(/^application\/json/);
    expect(refused.body).toEqual({ message: 'API rate limit exceeded' });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(refused.headers['ratelimit-remaining']).toBe('0');
  });

  it('adds the headers when a later plugin ends the request early (a cache hit, a denial)', async () => {
    const cacheHit = definePlugin({
      name: 'fake-cache',
      priority: 100,
      access(ctx) {
        ctx.exit(200, { from: 'cache' }, { 'x-cache-status': 'Hit' });
      },
    });
    const app = expressApp(undefined, rateLimit({ minute: 5, limitBy: 'ip', now }), cacheHit);
    const res = await request(app).get('/');
    expect(res.body).toEqual({ from: 'cache' });
    expect(res.headers['x-cache-status']).toBe('Hit');
    expect(res.headers['x-ratelimit-remaining-minute']).toBe('4');
    expect(res.headers['ratelimit-limit']).toBe('5');
  });

  it('sends live counts on a proxy-cache hit, not the ones stored with the cached response', async () => {
    const app = express();
    app.use(gateway(rateLimit({ minute: 5, limitBy: 'ip', now }), proxyCache({ strategy: 'memory', cacheTtl: 30 })));
    let calls = 0;
    app.get('/', (_req, res) => void res.json({ calls: ++calls }));
    const miss = await request(app).get('/');
    const hit = await request(app).get('/');
    expect(miss.headers['x-cache-status']).toBe('Miss');
    expect(hit.headers['x-cache-status']).toBe('Hit');
    expect(hit.body).toEqual({ calls: 1 });
    expect([miss.headers['x-ratelimit-remaining-minute'], hit.headers['x-ratelimit-remaining-minute']]).toEqual(['4', '3']);
    expect(hit.headers['ratelimit-remaining']).toBe('3');
  });

  it('adds the headers to a body a plugin streams, as the upstream proxy does', async () => {
    const proxy = definePlugin({
      name: 'fake-proxy',
      priority: 0,
      access(ctx) {
        ctx.exit(200, Readable.from([JSON.stringify({ from: 'upstream' })]), { 'content-type': 'application/json', via: '1.1 tollgate' });
      },
    });
    const app = expressApp(undefined, rateLimit({ minute: 5, limitBy: 'ip', now }), proxy);
    const res = await request(app).get('/');
    expect(res.body).toEqual({ from: 'upstream' });
    expect(res.headers['via']).toBe('1.1 tollgate');
    expect(res.headers['x-ratelimit-remaining-minute']).toBe('4');
  });

  it('never lets a forged X-Forwarded-For pick a bucket when trust proxy is off', async () => {
    const app = expressApp(undefined, rateLimit({ minute: 1, limitBy: 'ip', now }));
    expect((await request(app).get('/').set('X-Forwarded-For', '203.0.113.1')).status).toBe(200);
    expect((await request(app).get('/').set('X-Forwarded-For', '203.0.113.2')).status).toBe(429);
    expect((await request(app).get('/').set('X-Real-IP', '203.0.113.3')).status).toBe(429);
  });

  it('counts by the forwarded address when the app trusts the proxy', async () => {
    const app = expressApp((a) => a.set('trust proxy', 'loopback'), rateLimit({ minute: 1, limitBy: 'ip', now }));
    expect((await request(app).get('/').set('X-Forwarded-For', '203.0.113.1')).status).toBe(200);
    expect((await request(app).get('/').set('X-Forwarded-For', '203.0.113.2')).status).toBe(200);
    expect((await request(app).get('/').set('X-Forwarded-For', '203.0.113.1')).status).toBe(429);
  });

  it('keeps two routes with the same options in separate buckets', async () => {
    const app = express();
    app.get('/a', gateway(rateLimit({ minute: 1, limitBy: 'ip', now })), (_req, res) => void res.send('a'));
    app.get('/b', gateway(rateLimit({ minute: 1, limitBy: 'ip', now })), (_req, res) => void res.send('b'));
    expect((await request(app).get('/a')).status).toBe(200);
    expect((await request(app).get('/a')).status).toBe(429);
    expect((await request(app).get('/b')).status).toBe(200);
  });

  it('counts one plugin per route it is mounted on', async () => {
    const app = express();
    const limit = rateLimit({ minute: 1, limitBy: 'ip', now });
    app.get('/a', gateway(limit), (_req, res) => void res.send('a'));
    app.get('/b/:id', gateway(limit), (_req, res) => void res.send('b'));
    expect((await request(app).get('/a')).status).toBe(200);
    expect((await request(app).get('/b/1')).status).toBe(200);
    // The route is the pattern Express matched: /b/2 is the same route as /b/1.
    expect((await request(app).get('/b/2')).status).toBe(429);
    expect((await request(app).get('/A/')).status).toBe(429);
  });

  it('shares one bucket between the routes of a plugin that sets a namespace', async () => {
    const app = express();
    const limit = rateLimit({ minute: 1, limitBy: 'ip', now, namespace: 'adapters-shared' });
    app.get('/a', gateway(limit), (_req, res) => void res.send('a'));
    app.get('/b', gateway(limit), (_req, res) => void res.send('b'));
    expect((await request(app).get('/a')).status).toBe(200);
    expect((await request(app).get('/b')).status).toBe(429);
  });
});

describe('rateLimit with Koa', () => {
  let now: TestClock;
  beforeEach(() => {
    now = testClock();
  });

  const koaApp = (proxy: boolean) => {
    const app = new Koa();
    app.proxy = proxy;
    app.use(koaGateway(rateLimit({ minute: 2, limitBy: 'ip', now })));
    app.use((ctx) => {
      ctx.body = { from: 'koa' };
    });
    return app.callback();
  };

  it('adds the headers to the response a Koa handler produced, then refuses with JSON', async () => {
    const app = koaApp(false);
    const first = await request(app).get('/');
    expect(first.body).toEqual({ from: 'koa' });
    expect(first.headers['x-ratelimit-remaining-minute']).toBe('1');
    await request(app).get('/');
    const refused = await request(app).get('/');
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({ message: 'API rate limit exceeded' });
    expect(refused.headers['retry-after']).toBe(refused.headers['ratelimit-reset']);
    expect(refused.headers['x-ratelimit-remaining-minute']).toBe('0');
  });

  it('ignores X-Forwarded-For unless app.proxy is set', async () => {
    const closed = koaApp(false);
    await request(closed).get('/').set('X-Forwarded-For', '203.0.113.1');
    await request(closed).get('/').set('X-Forwarded-For', '203.0.113.2');
    expect((await request(closed).get('/').set('X-Forwarded-For', '203.0.113.3')).status).toBe(429);
    const open = koaApp(true);
    await request(open).get('/').set('X-Forwarded-For', '203.0.113.1');
    await request(open).get('/').set('X-Forwarded-For', '203.0.113.1');
    expect((await request(open).get('/').set('X-Forwarded-For', '203.0.113.2')).status).toBe(200);
    expect((await request(open).get('/').set('X-Forwarded-For', '203.0.113.1')).status).toBe(429);
  });
});

import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import request from 'supertest';
import { definePlugin, proxyCache, type AnyPlugin } from 'tollgate';
import { gateway } from 'tollgate/express';
import { authStub, expressApp, sleep } from './support';

const servers: Server[] = [];
afterAll(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))));

function listen(app: http.RequestListener): Server {
  const server = http.createServer(app).listen(0, '127.0.0.1');
  servers.push(server);
  return server;
}

function setup(...plugins: AnyPlugin[]) {
  const { app, calls } = expressApp(...plugins);
  return { server: listen(app), calls };
}

describe('proxyCache (memory, Express)', () => {
  it('answers Miss, then Hit with Age and the same status, headers and body', async () => {
    const { server, calls } = setup(proxyCache());
    const miss = await request(server).get('/json?b=2&a=1');
    expect(miss.status).toBe(200);
    expect(miss.headers['x-cache-status']).toBe('Miss');
    expect(miss.headers['x-cache-key']).toMatch(/^[0-9a-f]{64}$/);
    expect(miss.headers.age).toBeUndefined();

    const hit = await request(server).get('/json?a=1&b=2');
    expect(hit.headers['x-cache-status']).toBe('Hit');
    expect(hit.headers['x-cache-key']).toBe(miss.headers['x-cache-key']);
    expect(hit.headers.age).toBe('0');
    expect(hit.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(hit.headers['content-length']).toBe(miss.headers['content-length']);
    expect(hit.headers.etag).toBe(miss.headers.etag);
    expect(hit.headers['x-tollgate-response-latency']).toMatch(/^\d+$/);
    expect(hit.body).toEqual(miss.body);
    expect(calls.json).toBe(1);
  });

  it('answers a hit without its own header, body and log phases; earlier plugins keep theirs', async () => {
    const seen: string[] = [];
    const observer = definePlugin({
      name: 'observer',
      priority: 500,
      headerFilter: (ctx) => void seen.push(`header ${String(ctx.response.getHeader('x-cache-status'))}`),
      log: () => void seen.push('log'),
    });
    const { app } = expressApp(proxyCache());
    const closeListeners: string[][] = [];
    const outer = express();
    outer.use((_req, res, next) => {
      res.on('finish', () => closeListeners.push(res.listeners('close').map((f) => f.name)));
      next();
    });
    outer.use('/observed', gateway(observer), app);
    outer.use(app);
    const server = listen(outer);

    expect((await request(server).get('/json')).headers['x-cache-status']).toBe('Miss');
    expect((await request(server).get('/json')).headers['x-cache-status']).toBe('Hit');
    // The miss arms the log phase (proxy-cache releases waiting requests there); the hit does not.
    expect(closeListeners[0]).toContain('logOnClose');
    expect(closeListeners[1]).not.toContain('logOnClose');

    // A plugin that ran before the hit still sees the replayed head and gets its log phase.
    expect((await request(server).get('/observed/json')).headers['x-cache-status']).toBe('Miss');
    const hit = await request(server).get('/observed/json');
    expect(hit.headers['x-cache-status']).toBe('Hit');
    await sleep(20);
    // On the miss the observer's headerFilter runs before proxy-cache's, which adds the status.
    expect(seen).toEqual(['header undefined', 'log', 'header Hit', 'log']);
  });

  it('caches text/plain with a charset, and 301 and 404 by default', async () => {
    const { server, calls } = setup(proxyCache());
    for (const path of ['/text', '/status/404', '/status/301']) {
      expect((await request(server).get(path)).headers['x-cache-status']).toBe('Miss');
      const hit = await request(server).get(path);
      expect(hit.headers['x-cache-status']).toBe('Hit');
    }
    expect((await request(server).get('/text')).text).toBe('text 1');
    expect(calls).toMatchObject({ text: 1, status404: 1, status301: 1 });
  });

  it('answers Bypass for statuses, media types and methods that are not configured', async () => {
    const { server, calls } = setup(proxyCache());
    for (let i = 0; i < 2; i++) {
      expect((await request(server).get('/status/500')).headers['x-cache-status']).toBe('Bypass');
      expect((await request(server).get('/status/201')).headers['x-cache-status']).toBe('Bypass');
      expect((await request(server).get('/html')).headers['x-cache-status']).toBe('Bypass');
      const post = await request(server).post('/json');
      expect(post.headers['x-cache-status']).toBe('Bypass');
      expect(post.headers['x-cache-key']).toBeUndefined();
    }
    expect(calls).toMatchObject({ status500: 2, status201: 2, html: 2, post: 2 });
  });

  it('honours configured statuses, media types with parameters and wildcards', async () => {
    const { server, calls } = setup(proxyCache({ responseCode: [200, 201], contentType: ['text/html', 'application/json; charset=UTF-8'] }));
    await request(server).get('/status/201');
    expect((await request(server).get('/status/201')).headers['x-cache-status']).toBe('Hit');
    await request(server).get('/html');
    expect((await request(server).get('/html')).headers['x-cache-status']).toBe('Hit');
    expect((await request(server).get('/text')).headers['x-cache-status']).toBe('Bypass'); // text/plain not configured
    expect(calls).toMatchObject({ status201: 1, html: 1 });

    const wildcard = setup(proxyCache({ contentType: ['text/*'] }));
    await request(wildcard.server).get('/html');
    expect((await request(wildcard.server).get('/html')).headers['x-cache-status']).toBe('Hit');
    expect((await request(wildcard.server).get('/json')).headers['x-cache-status']).toBe('Bypass');

    const latin = setup(proxyCache({ contentType: ['text/plain; charset=iso-8859-1'] }));
    expect((await request(latin.server).get('/text')).headers['x-cache-status']).toBe('Bypass');
  });

  it('answers a HEAD from the GET entry, with the GET length and no body', async () => {
    const { server, calls } = setup(proxyCache());
    const head1 = await request(server).head('/json');
    expect(head1.headers['x-cache-status']).toBe('Miss');
    const get = await request(server).get('/json');
    expect(get.headers['x-cache-status']).toBe('Miss');
    const head2 = await request(server).head('/json');
    expect(head2.headers['x-cache-status']).toBe('Hit');
    expect(head2.headers['content-length']).toBe(get.headers['content-length']);
    expect(head2.text ?? '').toBe('');
    expect(calls.json).toBe(2);
  });

  it('expires entries after cacheTtl, and answers Refresh for stale entries kept by storageTtl', async () => {
    const { server, calls } = setup(proxyCache({ cacheTtl: 0.3 }));
    await request(server).get('/json');
    expect((await request(server).get('/json')).headers['x-cache-status']).toBe('Hit');
    await sleep(400);
    expect((await request(server).get('/json')).headers['x-cache-status']).toBe('Miss');
    expect(calls.json).toBe(2);

    const kept = setup(proxyCache({ cacheTtl: 0.3, storageTtl: 10 }));
    await request(kept.server).get('/json');
    await sleep(400);
    const refresh = await request(kept.server).get('/json');
    expect(refresh.headers['x-cache-status']).toBe('Refresh');
    expect(refresh.body.n).toBe(2);
    const hit = await request(kept.server).get('/json');
    expect(hit.headers['x-cache-status']).toBe('Hit');
    expect(hit.body.n).toBe(2);
  });

  it('never serves one consumer the entry of another, nor anonymous requests a consumer entry', async () => {
    const { server, calls } = setup(authStub, proxyCache());
    const a1 = await request(server).get('/json').set('X-User', 'alice');
    const b1 = await request(server).get('/json').set('X-User', 'bob');
    expect([a1.headers['x-cache-status'], b1.headers['x-cache-status']]).toEqual(['Miss', 'Miss']);
    expect(a1.headers['x-cache-key']).not.toBe(b1.headers['x-cache-key']);
    const a2 = await request(server).get('/json').set('X-User', 'alice');
    const b2 = await request(server).get('/json').set('X-User', 'bob');
    expect(a2.headers['x-cache-status']).toBe('Hit');
    expect(a2.body).toMatchObject({ user: 'alice', n: 1 });
    expect(b2.body).toMatchObject({ user: 'bob', n: 2 });
    const anon = await request(server).get('/json');
    expect(anon.headers['x-cache-status']).toBe('Miss');
    expect(anon.body.user).toBeNull();
    // A consumer literally named "default" must not share the anonymous entry.
    expect((await request(server).get('/json').set('X-User', 'default')).headers['x-cache-status']).toBe('Miss');
    expect(calls.json).toBe(4);
  });

  it('never caches a request with Authorization when no consumer was identified', async () => {
    const { server, calls } = setup(proxyCache());
    for (const token of ['Bearer a', 'Bearer b']) {
      const res = await request(server).get('/json').set('Authorization', token);
      expect(res.headers['x-cache-status']).toBe('Bypass');
    }
    expect((await request(server).get('/json')).headers['x-cache-status']).toBe('Miss');
    expect(calls.json).toBe(3);
  });

  it('sends one request to the handler for a burst of concurrent misses', async () => {
    const { server, calls } = setup(proxyCache());
    const burst = await Promise.all(Array.from({ length: 10 }, () => request(server).get('/slow')));
    expect(calls.slow).toBe(1);
    const statuses = burst.map((r) => r.headers['x-cache-status']).sort();
    expect(statuses).toEqual(['Hit', 'Hit', 'Hit', 'Hit', 'Hit', 'Hit', 'Hit', 'Hit', 'Hit', 'Miss']);
    expect(new Set(burst.map((r) => r.body.n))).toEqual(new Set([1]));
  });

  it('lets waiting requests go on their own when the first response is not cacheable', async () => {
    let n = 0;
    const app = express();
    app.use(gateway(proxyCache()));
    app.get('/flaky', (_req, res) => {
      n++;
      setTimeout(() => res.status(503).json({ n }), 100);
    });
    const server = listen(app);
    const burst = await Promise.all(Array.from({ length: 4 }, () => request(server).get('/flaky')));
    expect(n).toBe(4);
    expect(burst.every((r) => r.status === 503 && r.headers['x-cache-status'] === 'Bypass')).toBe(true);
  });

  it('stops waiting after lockTimeout, and does not collapse with lock off', async () => {
    const timed = setup(proxyCache({ lockTimeout: 0.03 }));
    await Promise.all(Array.from({ length: 3 }, () => request(timed.server).get('/slow')));
    expect(timed.calls.slow).toBe(3);

    const unlocked = setup(proxyCache({ lock: false }));
    await Promise.all(Array.from({ length: 3 }, () => request(unlocked.server).get('/slow')));
    expect(unlocked.calls.slow).toBe(3);
  });

  it('never stores a response that sets a cookie', async () => {
    const { server, calls } = setup(proxyCache());
    for (let i = 0; i < 2; i++) {
      const res = await request(server).get('/cookie');
      expect(res.headers['x-cache-status']).toBe('Bypass');
      expect(res.headers['set-cookie']).toBeDefined();
    }
    expect(calls.cookie).toBe(2);
  });

  it('never stores a body over maxBodySize, declared or streamed', async () => {
    const { server, calls } = setup(proxyCache({ maxBodySize: 100 }));
    expect((await request(server).get('/big/101')).headers['x-cache-status']).toBe('Bypass');
    const big = await request(server).get('/big/101');
    expect(big.text).toHaveLength(101);
    await request(server).get('/big/100');
    expect((await request(server).get('/big/100')).headers['x-cache-status']).toBe('Hit');
    expect(calls.big).toBe(3);

    const streamed = setup(proxyCache({ maxBodySize: 12 }));
    const first = await request(streamed.server).get('/stream');
    expect(first.body).toEqual({ part: 1, n: 1 });
    expect((await request(streamed.server).get('/stream')).headers['x-cache-status']).toBe('Miss');
    expect(streamed.calls.stream).toBe(2);
  });

  it('caches a streamed response with no Content-Length and replays it byte for byte', async () => {
    const { server, calls } = setup(proxyCache());
    const miss = await request(server).get('/stream');
    expect(miss.headers['transfer-encoding']).toBe('chunked');
    const hit = await request(server).get('/stream');
    expect(hit.headers['x-cache-status']).toBe('Hit');
    expect(hit.text).toBe(miss.text);
    expect(hit.headers['content-length']).toBe(String(Buffer.byteLength(miss.text)));
    expect(calls.stream).toBe(1);
  });

  it('evicts least recently used entries beyond memory.maxBytes', async () => {
    const { server, calls } = setup(proxyCache({ memory: { maxBytes: 3000 }, maxBodySize: 1000 }));
    for (const q of ['a', 'b', 'c', 'd']) await request(server).get(`/big/800?k=${q}`);
    expect((await request(server).get('/big/800?k=d')).headers['x-cache-status']).toBe('Hit');
    expect((await request(server).get('/big/800?k=a')).headers['x-cache-status']).toBe('Miss');
    expect(calls.big).toBe(5);
  });

  it('keys on varyHeaders values and on varyQueryParams only', async () => {
    const { server, calls } = setup(proxyCache({ varyHeaders: ['Accept-Language'], varyQueryParams: ['page'] }));
    const en = await request(server).get('/json?page=1&utm=x').set('Accept-Language', 'en');
    const fr = await request(server).get('/json?page=1&utm=y').set('Accept-Language', 'fr');
    expect(fr.headers['x-cache-status']).toBe('Miss');
    const en2 = await request(server).get('/json?utm=z&page=1').set('Accept-Language', 'en');
    expect(en2.headers['x-cache-status']).toBe('Hit');
    expect(en2.headers['x-cache-key']).toBe(en.headers['x-cache-key']);
    expect((await request(server).get('/json?page=2').set('Accept-Language', 'en')).headers['x-cache-status']).toBe('Miss');
    expect(calls.json).toBe(3);
  });

  it('keys on every query parameter when varyQueryParams is empty', async () => {
    const { server } = setup(proxyCache());
    await request(server).get('/json?a=1&a=2&b=3');
    expect((await request(server).get('/json?b=3&a=2&a=1')).headers['x-cache-status']).toBe('Hit');
    expect((await request(server).get('/json?a=1&b=3')).headers['x-cache-status']).toBe('Miss');
  });

  it("serves an entry only to requests matching the response's own Vary", async () => {
    let n = 0;
    const app = express();
    app.use(gateway(proxyCache()));
    app.get('/v', (req, res) => {
      res.vary('Accept-Encoding').json({ n: ++n, enc: req.get('accept-encoding') ?? null });
    });
    const server = listen(app);
    await request(server).get('/v').set('Accept-Encoding', 'gzip');
    const other = await request(server).get('/v').set('Accept-Encoding', 'identity');
    expect(other.headers['x-cache-status']).toBe('Miss');
    expect(other.body.enc).toBe('identity');
    const same = await request(server).get('/v').set('Accept-Encoding', 'identity');
    expect(same.headers['x-cache-status']).toBe('Hit');
    expect(same.body.enc).toBe('identity');
  });

  it('keeps rate-limit headers live on a hit and does not replay hop-by-hop headers', async () => {
    let remaining = 10;
    // Stands in for rateLimit (priority 910): sets its headers on the response before the cache runs.
    const limiter = definePlugin({
      name: 'limiter',
      priority: 910,
      access(ctx) {
        ctx.response.setHeader('X-RateLimit-Remaining-Minute', String(--remaining));
        ctx.response.setHeader('RateLimit-Remaining', String(remaining));
      },
    });
    const app = express();
    app.use(gateway(limiter, proxyCache()));
    app.get('/r', (_req, res) => {
      res.set({ 'Keep-Alive': 'timeout=99', 'X-Custom': 'kept' }).json({ ok: true });
    });
    const server = listen(app);
    await request(server).get('/r');
    const hit = await request(server).get('/r');
    expect(hit.headers['x-cache-status']).toBe('Hit');
    expect(hit.headers['x-ratelimit-remaining-minute']).toBe('8');
    expect(hit.headers['ratelimit-remaining']).toBe('8');
    expect(hit.headers['x-custom']).toBe('kept');
    expect(hit.headers['keep-alive']).not.toBe('timeout=99');
  });

  it('sends none of its headers when responseHeaders turns them off', async () => {
    const { server } = setup(proxyCache({ responseHeaders: { xCacheStatus: false, xCacheKey: false, age: false } }));
    await request(server).get('/json');
    const hit = await request(server).get('/json');
    expect(hit.headers['x-cache-status']).toBeUndefined();
    expect(hit.headers['x-cache-key']).toBeUndefined();
    expect(hit.headers.age).toBeUndefined();
    expect(hit.body.n).toBe(1);
  });

  it('purges one key or all entries', async () => {
    const cache = proxyCache();
    const { server, calls } = setup(cache);
    const key = (await request(server).get('/json')).headers['x-cache-key'] as string;
    await request(server).get('/text');
    expect(await cache.purge(key)).toBe(true);
    expect(await cache.purge(key)).toBe(false);
    expect(await cache.purge('not-a-key')).toBe(false);
    expect((await request(server).get('/json')).headers['x-cache-status']).toBe('Miss');
    expect((await request(server).get('/text')).headers['x-cache-status']).toBe('Hit');
    await cache.purgeAll();
    expect((await request(server).get('/text')).headers['x-cache-status']).toBe('Miss');
    expect(calls).toMatchObject({ json: 2, text: 2 });
  });

  it('caches what an Express route fetched from a real upstream server', async () => {
    let upstreamRequests = 0;
    const upstream = listen((_req, res) => {
      upstreamRequests++;
      setTimeout(() => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ from: 'upstream', n: upstreamRequests }));
      }, 50);
    });
    await new Promise((r) => upstream.once('listening', r));
    const port = (upstream.address() as AddressInfo).port;
    const app = express();
    app.use(gateway(proxyCache()));
    app.get('/proxied', (_req, res) => {
      http.get({ host: '127.0.0.1', port, path: '/' }, (up) => {
        res.status(up.statusCode!).type(up.headers['content-type']!);
        up.pipe(res);
      });
    });
    const server = listen(app);
    const burst = await Promise.all(Array.from({ length: 5 }, () => request(server).get('/proxied')));
    expect(upstreamRequests).toBe(1);
    expect(burst.every((r) => r.body.from === 'upstream')).toBe(true);
    expect((await request(server).get('/proxied')).headers['x-cache-status']).toBe('Hit');
    expect(upstreamRequests).toBe(1);
  });
});

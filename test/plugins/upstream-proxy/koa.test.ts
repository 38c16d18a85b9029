import Koa from 'koa';
import mount from 'koa-mount';
import request from 'supertest';
import { definePlugin, setLogger, upstreamProxy, type UpstreamProxyPlugin } from 'tollgate';
import { gateway } from 'tollgate/koa';
import { closedPort, echoHandler, listen, type Echo, type Running } from './servers';

describe('upstreamProxy (koa)', () => {
  let upstream: Running;
  const plugins: UpstreamProxyPlugin[] = [];
  const proxy = (options: Parameters<typeof upstreamProxy>[0]) => {
    const p = upstreamProxy(options);
    plugins.push(p);
    return p;
  };
  const seen: string[] = [];
  // What a cache or rate-limit plugin relies on: it sees the status and headers of the response.
  const recorder = definePlugin({
    name: 'recorder',
    priority: 100,
    headerFilter(ctx) {
      seen.push(`header:${ctx.response.status}:${String(ctx.response.getHeader('x-upstream') ?? '-')}`);
      ctx.response.setHeader('X-Recorded', String(ctx.response.status));
    },
    bodyFilter(ctx, chunk, eof) {
      if (eof) seen.push('body:eof');
    },
    log(ctx) {
      seen.push(`log:${ctx.response.status}`);
    },
  });

  beforeAll(async () => {
    setLogger({ debug() {}, info() {}, warn() {}, error() {} });
    upstream = await listen(echoHandler((res) => res.setHeader('X-Upstream', 'yes')));
  });
  afterEach(() => {
    for (const p of plugins.splice(0)) p.close();
    seen.length = 0;
  });
  afterAll(async () => {
    setLogger(null);
    await upstream.close();
  });

  it('proxies from a koa-mount prefix with the forwarded headers, and the other plugins see the response', async () => {
    const app = new Koa();
    app.use(mount('/httpbin', gateway(recorder, proxy({ url: upstream.url }))));
    app.use((ctx) => {
      ctx.body = 'not proxied';
    });
    const res = await request(app.callback()).get('/httpbin/get?x=1');
    expect(res.status).toBe(200);
    const echo = res.body as Echo;
    expect(echo.url).toBe('/get?x=1');
    expect(echo.headers).toMatchObject({ 'x-forwarded-path': '/httpbin/get', 'x-forwarded-prefix': '/httpbin', 'x-forwarded-proto': 'http', via: '1.1 tollgate' });
    expect(res.headers['x-recorded']).toBe('200');
    expect(res.headers.via).toBe('1.1 tollgate');
    await new Promise((r) => setTimeout(r, 20));
    expect(seen).toEqual(['header:200:yes', 'body:eof', 'log:200']);
  });

  it('answers proxy errors as JSON through the same hooks', async () => {
    const app = new Koa();
    app.use(gateway(recorder, proxy({ url: `http://127.0.0.1:${await closedPort()}`, retries: 0 })));
    const res = await request(app.callback()).post('/orders').send({ a: 1 });
    expect(res.status).toBe(502);
    expect(res.body).toEqual({ message: 'An invalid response was received from the upstream server' });
    expect(res.headers['x-recorded']).toBe('502');
    await new Promise((r) => setTimeout(r, 20));
    expect(seen).toEqual(['header:502:-', 'body:eof', 'log:502']);
  });

  it('streams a request body from Koa unchanged', async () => {
    const app = new Koa();
    app.use(gateway(proxy({ url: upstream.url })));
    const res = await request(app.callback()).put('/doc').set('Content-Type', 'text/plain').send('hello koa');
    expect(res.status).toBe(200);
    expect((res.body as Echo).body).toBe('hello koa');
    expect((res.body as Echo).method).toBe('PUT');
  });
});

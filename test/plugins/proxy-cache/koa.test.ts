import http, { type Server } from 'node:http';
import { Readable } from 'node:stream';
import Koa from 'koa';
import mount from 'koa-mount';
import request from 'supertest';
import { proxyCache } from 'tollgate';
import { gateway } from 'tollgate/koa';
import { authStub } from './support';

const servers: Server[] = [];
afterAll(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))));

function koaApp(cache = proxyCache()) {
  const calls: Record<string, number> = {};
  const count = (name: string) => (calls[name] = (calls[name] ?? 0) + 1);
  const app = new Koa();
  app.use(gateway(authStub, cache));
  app.use(async (ctx) => {
    switch (ctx.path) {
      case '/json':
        ctx.body = { n: count('json'), user: ctx.get('x-user') || null };
        break;
      case '/stream': {
        const n = count('stream');
        ctx.type = 'application/json; charset=utf-8';
        ctx.body = Readable.from(['{"chunks":', '[1,2,3],', `"n":${n}}`]);
        break;
      }
      case '/slow': {
        const n = count('slow');
        await new Promise((r) => setTimeout(r, 120));
        ctx.body = `slow ${n}`;
        break;
      }
      case '/tagged':
        count('tagged');
        ctx.set('ETag', '"t1"');
        ctx.body = { tagged: true };
        break;
      case '/missing':
        count('missing');
        ctx.status = 404;
        ctx.body = { message: 'Not found' };
        break;
      default:
        ctx.status = 500;
        ctx.body = { message: 'boom' };
    }
  });
  const server = http.createServer(app.callback()).listen(0, '127.0.0.1');
  servers.push(server);
  return { server, calls, app };
}

describe('proxyCache (memory, Koa)', () => {
  it('caches a ctx.body object and replays it', async () => {
    const { server, calls } = koaApp();
    const miss = await request(server).get('/json');
    expect(miss.headers['x-cache-status']).toBe('Miss');
    const hit = await request(server).get('/json');
    expect(hit.headers['x-cache-status']).toBe('Hit');
    expect(hit.headers.age).toBe('0');
    expect(hit.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(hit.body).toEqual({ n: 1, user: null });
    expect(calls.json).toBe(1);
  });

  it('caches a streamed ctx.body and replays it byte for byte', async () => {
    const { server, calls } = koaApp();
    const miss = await request(server).get('/stream');
    expect(miss.headers['x-cache-status']).toBe('Miss');
    expect(miss.headers['content-length']).toBeUndefined();
    const hit = await request(server).get('/stream');
    expect(hit.headers['x-cache-status']).toBe('Hit');
    expect(hit.text).toBe(miss.text);
    expect(hit.body).toEqual({ chunks: [1, 2, 3], n: 1 });
    expect(calls.stream).toBe(1);
  });

  it('caches a 404 and answers Bypass for a 500', async () => {
    const { server, calls } = koaApp();
    await request(server).get('/missing');
    const hit = await request(server).get('/missing');
    expect(hit.status).toBe(404);
    expect(hit.headers['x-cache-status']).toBe('Hit');
    expect(calls.missing).toBe(1);
    expect((await request(server).get('/other')).headers['x-cache-status']).toBe('Bypass');
  });

  it('collapses a burst of concurrent misses into one handler call', async () => {
    const { server, calls } = koaApp();
    const burst = await Promise.all(Array.from({ length: 6 }, () => request(server).get('/slow')));
    expect(calls.slow).toBe(1);
    expect(burst.map((r) => r.text)).toEqual(Array(6).fill('slow 1'));
    expect(burst.filter((r) => r.headers['x-cache-status'] === 'Hit')).toHaveLength(5);
  });

  it('keeps consumers apart', async () => {
    const { server } = koaApp();
    await request(server).get('/json').set('X-User', 'alice');
    const bob = await request(server).get('/json').set('X-User', 'bob');
    expect(bob.headers['x-cache-status']).toBe('Miss');
    expect(bob.body.user).toBe('bob');
    const alice = await request(server).get('/json').set('X-User', 'alice');
    expect(alice.headers['x-cache-status']).toBe('Hit');
    expect(alice.body.user).toBe('alice');
  });

  it('keys on the full path, so two mounts of one cache never share entries', async () => {
    const cache = proxyCache();
    let n = 0;
    const app = new Koa();
    const inner = new Koa();
    inner.use(gateway(cache));
    inner.use((ctx) => {
      ctx.body = { n: ++n, mount: ctx.mountPath ?? null };
    });
    app.use(mount('/a', inner));
    app.use(mount('/b', inner));
    const server = http.createServer(app.callback()).listen(0, '127.0.0.1');
    servers.push(server);
    await request(server).get('/a/x');
    const b = await request(server).get('/b/x');
    expect(b.headers['x-cache-status']).toBe('Miss');
    expect((await request(server).get('/a/x')).headers['x-cache-status']).toBe('Hit');
    expect(n).toBe(2);
  });

  it('answers a matching If-None-Match from the cache with 304 and no body', async () => {
    const { server, calls } = koaApp();
    await new Promise((r) => server.once('listening', r));
    await request(server).get('/tagged');
    const res = await request(server).get('/tagged').set('If-None-Match', 'W/"t1"');
    expect([res.status, res.headers['x-cache-status'], res.headers.etag, res.text ?? '']).toEqual([304, 'Hit', '"t1"', '']);
    expect(calls.tagged).toBe(1);
  });
});

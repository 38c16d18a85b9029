/**
 * tollgate lives in someone else's process: it must change nothing outside the requests its
 * gateways handle (no Node prototype, no other server), and middleware mounted around it must keep
 * working as it does without it.
 */
import http, { ServerResponse, type Server } from 'node:http';
import compression from 'compression';
import express from 'express';
import Koa from 'koa';
import request from 'supertest';
import { definePlugin, proxyCache, rateLimit } from 'tollgate';
import { gateway } from 'tollgate/express';
import { gateway as koaGateway } from 'tollgate/koa';

const servers: Server[] = [];
afterAll(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))));
const listen = (handler: http.RequestListener): Server => {
  const server = http.createServer(handler).listen(0, '127.0.0.1');
  servers.push(server);
  return server;
};

const observer = (seen: string[]) =>
  definePlugin({
    name: 'observer',
    priority: 5,
    headerFilter: (ctx) => void seen.push(`header ${ctx.response.status}`),
    bodyFilter: (_ctx, chunk, eof) => void seen.push(`body ${chunk.length}${eof ? ' eof' : ''}`),
    log: () => void seen.push('log'),
  });

describe('a gateway in a process it shares', () => {
  it("leaves Node's ServerResponse prototype as Node made it", async () => {
    const seen: string[] = [];
    const app = express();
    app.use(gateway(observer(seen), rateLimit({ minute: 100 }), proxyCache()));
    app.get('/', (_req, res) => void res.json({ ok: true }));
    const koa = new Koa();
    koa.use(koaGateway(observer(seen), proxyCache()));
    koa.use((ctx) => void (ctx.body = { ok: true }));
    await request(app).get('/');
    await request(app).get('/');
    await request(koa.callback()).get('/');
    expect(seen).toContain('header 200');
    // Node defines writeHead on ServerResponse and inherits write/end from OutgoingMessage.
    expect(ServerResponse.prototype.writeHead.name).toBe('writeHead');
    expect(Object.hasOwn(ServerResponse.prototype, 'write')).toBe(false);
    expect(Object.hasOwn(ServerResponse.prototype, 'end')).toBe(false);
    expect(Object.getOwnPropertySymbols(ServerResponse.prototype).map(String).filter((s) => /tollgate/.test(s))).toEqual([]);
  });

  it('leaves the responses of a plain node:http server in the same process untouched', async () => {
    const app = express();
    app.use(gateway(observer([]), rateLimit({ minute: 100 })));
    app.get('/', (_req, res) => void res.send('gateway'));
    await request(app).get('/');
    const own: string[][] = [];
    const stacks: string[] = [];
    const plain = listen((_req, res) => {
      own.push(['writeHead', 'write', 'end'].filter((m) => Object.hasOwn(res, m)));
      // Node reads this header inside writeHead: the stack shows who stands between.
      const headers = {
        get 'x-plain'() {
          stacks.push(new Error().stack ?? '');
          return '1';
        },
      };
      res.writeHead(200, headers);
      res.end('plain');
    });
    const res = await request(plain).get('/');
    expect(res.text).toBe('plain');
    expect(res.headers['x-ratelimit-limit-minute']).toBeUndefined();
    expect(own).toEqual([[]]);
    expect(stacks.length).toBeGreaterThan(0);
    for (const stack of stacks) expect(stack).not.toMatch(/src[/\\](core|adapters)[/\\]/);
  });

  it('wraps only the responses of requests whose plugins have a header or body phase', async () => {
    const wrapped: boolean[] = [];
    const app = express();
    const accessOnly = definePlugin({ name: 'access-only', priority: 1, access: () => {} });
    app.use('/plain', gateway(accessOnly));
    app.use('/phases', gateway(observer([])));
    app.use((_req, res) => {
      wrapped.push(Object.hasOwn(res, 'writeHead'));
      res.send('x');
    });
    await request(app).get('/plain');
    await request(app).get('/phases');
    expect(wrapped).toEqual([false, true]);
  });

  it('caches what the app wrote, not what compression mounted before the gateway made of it', async () => {
    let calls = 0;
    const app = express();
    app.use(compression({ threshold: 0 }));
    app.use(gateway(proxyCache({ contentType: ['text/plain'] })));
    app.get('/text', (_req, res) => {
      calls++;
      res.type('text/plain').send('hello '.repeat(200));
    });
    const server = listen(app);
    const gzipMiss = await request(server).get('/text').set('Accept-Encoding', 'gzip');
    expect(gzipMiss.headers['x-cache-status']).toBe('Miss');
    expect(gzipMiss.headers['content-encoding']).toBe('gzip');
    // A client that takes no gzip gets the hit as plain text: the entry holds the app's bytes.
    const plainHit = await request(server).get('/text').set('Accept-Encoding', 'identity');
    expect(plainHit.headers['x-cache-status']).toBe('Hit');
    expect(plainHit.headers['content-encoding']).toBeUndefined();
    expect(plainHit.text).toBe('hello '.repeat(200));
    // And a gzip client gets the hit compressed again by compression.
    const gzipHit = await request(server).get('/text').set('Accept-Encoding', 'gzip');
    expect(gzipHit.headers['x-cache-status']).toBe('Hit');
    expect(gzipHit.headers['content-encoding']).toBe('gzip');
    expect(gzipHit.text).toBe('hello '.repeat(200));
    expect(calls).toBe(1);
  });

  it("runs every phase on the app's answer: header, body and log", async () => {
    const seen: string[] = [];
    const app = express();
    app.use(gateway(observer(seen)));
    app.get('/', (_req, res) => void res.send('four'));
    await request(app).get('/');
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual(['header 200', 'body 4 eof', 'log']);
  });

  it('logs through the logger given to the gateway, not the process default', async () => {
    const lines: string[] = [];
    const logger = { debug: () => {}, info: () => {}, warn: (m: string) => void lines.push(m), error: (m: string) => void lines.push(m) };
    const boom = definePlugin({
      name: 'boom',
      priority: 1,
      access: () => {
        throw new Error('nope');
      },
    });
    const app = express();
    app.use(gateway({ logger }, boom));
    const res = await request(app).get('/');
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ message: 'An unexpected error occurred' });
    expect(lines).toEqual(['plugin "boom" threw in access']);
  });
});

import http, { type Server } from 'node:http';
import net from 'node:net';
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import Koa from 'koa';
import request from 'supertest';
import { proxyCache, setLogger, type ProxyCachePlugin } from 'tollgate';
import { gateway as koaGateway } from 'tollgate/koa';
import { authStub, expressApp, sleep } from './support';

const servers: (Server | net.Server)[] = [];
const caches: ProxyCachePlugin[] = [];
const clients: Redis[] = [];
const sockets: net.Socket[] = [];
let redis: Redis;

beforeAll(async () => {
  redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true });
  await redis.connect();
  setLogger({ debug() {}, info() {}, warn() {}, error() {} });
});
afterAll(async () => {
  await Promise.all(caches.map((c) => c.close()));
  for (const socket of sockets) socket.destroy();
  for (const s of servers) if (s instanceof http.Server) s.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  for (const c of clients) c.disconnect();
  redis.disconnect();
  setLogger(null);
});

const track = (client: Redis) => (clients.push(client), client);
const uniquePrefix = () => `tollgate-test:pc:${randomUUID()}:`;

function cache(options: Parameters<typeof proxyCache>[0]) {
  const c = proxyCache(options);
  caches.push(c);
  return c;
}

function listen(app: http.RequestListener): Server {
  const server = http.createServer(app).listen(0, '127.0.0.1');
  servers.push(server);
  return server;
}

describe('proxyCache (redis)', () => {
  it('shares entries between two app instances, Express and Koa, through one Redis', async () => {
    const prefix = uniquePrefix();
    const express1 = expressApp(authStub, cache({ strategy: 'redis', redis: { client: redis, prefix } }));
    const server1 = listen(express1.app);
    let koaCalls = 0;
    const second = track(redis.duplicate());
    await second.connect();
    const koa = new Koa();
    koa.use(koaGateway(authStub, cache({ strategy: 'redis', redis: { client: second, prefix } })));
    koa.use((ctx) => {
      ctx.body = { from: 'koa', n: ++koaCalls };
    });
    const server2 = listen(koa.callback());

    const miss = await request(server1).get('/json?x=1');
    expect(miss.headers['x-cache-status']).toBe('Miss');
    await sleep(20); // the write to Redis is fire-and-forget
    const hit = await request(server2).get('/json?x=1');
    expect(hit.headers['x-cache-status']).toBe('Hit');
    expect(hit.headers['x-cache-key']).toBe(miss.headers['x-cache-key']);
    expect(hit.body).toEqual(miss.body);
    expect(koaCalls).toBe(0);
    expect(express1.calls.json).toBe(1);

    // Consumers stay apart across instances too.
    const bob = await request(server2).get('/json?x=1').set('X-User', 'bob');
    expect(bob.headers['x-cache-status']).toBe('Miss');
    expect(bob.body.from).toBe('koa');
  });

  it('stores entries with a Redis TTL and expires them', async () => {
    const prefix = uniquePrefix();
    const { app, calls } = expressApp(cache({ strategy: 'redis', cacheTtl: 0.4, redis: { client: redis, prefix } }));
    const server = listen(app);
    const key = (await request(server).get('/text')).headers['x-cache-key'];
    await sleep(20);
    const pttl = await redis.pttl(`${prefix}proxy-cache:${key}`);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(400);
    expect((await request(server).get('/text')).headers['x-cache-status']).toBe('Hit');
    await sleep(450);
    expect((await request(server).get('/text')).headers['x-cache-status']).toBe('Miss');
    expect(calls.text).toBe(2);
  });

  it('collapses concurrent misses into one handler call', async () => {
    const { app, calls } = expressApp(cache({ strategy: 'redis', redis: { client: redis, prefix: uniquePrefix() } }));
    const server = listen(app);
    const burst = await Promise.all(Array.from({ length: 6 }, () => request(server).get('/slow')));
    expect(calls.slow).toBe(1);
    expect(burst.filter((r) => r.headers['x-cache-status'] === 'Hit')).toHaveLength(5);
  });

  it('answers Bypass at once when Redis is down, and still answers the request', async () => {
    const { app, calls } = expressApp(cache({ strategy: 'redis', redis: { url: 'redis://127.0.0.1:1' } }));
    const server = listen(app);
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      const res = await request(server).get('/json');
      expect(performance.now() - started).toBeLessThan(500);
      expect(res.status).toBe(200);
      expect(res.headers['x-cache-status']).toBe('Bypass');
      expect(res.headers['x-cache-key']).toBeUndefined();
    }
    expect(calls.json).toBe(3);
  });

  it('bounds a lookup on an app client whose Redis stops answering', async () => {
    // A Redis stand-in that accepts the connection and the ready check, then never answers GET.
    const stalled = net.createServer((socket) => {
      sockets.push(socket);
      socket.on('data', (data) => {
        // Each command is a RESP array: *N, then $len and the name of the command.
        for (const m of data.toString('latin1').matchAll(/\*\d+\r\n\$\d+\r\n([^\r]+)\r\n/g)) {
          const command = m[1]!.toLowerCase();
          if (command === 'info') {
            const info = '# Server\r\nloading:0\r\n';
            socket.write(`$${info.length}\r\n${info}\r\n`);
          } else if (command !== 'get') socket.write('+OK\r\n');
        }
      });
    });
    servers.push(stalled);
    await new Promise<void>((r) => stalled.listen(0, '127.0.0.1', r));
    const client = track(new Redis({ host: '127.0.0.1', port: (stalled.address() as net.AddressInfo).port, lazyConnect: true }));
    await client.connect();
    const { app, calls } = expressApp(cache({ strategy: 'redis', redis: { client } }));
    const server = listen(app);
    const started = performance.now();
    const res = await request(server).get('/json');
    const took = performance.now() - started;
    client.disconnect();
    expect(res.status).toBe(200);
    expect(res.headers['x-cache-status']).toBe('Bypass');
    expect(took).toBeGreaterThanOrEqual(450);
    expect(took).toBeLessThan(1500);
    expect(calls.json).toBe(1);
  });

  it('answers from the shared cache on the first requests of a fresh instance, not Bypass', async () => {
    const prefix = uniquePrefix();
    const warm = expressApp(cache({ strategy: 'redis', redis: { client: redis, prefix } }));
    expect((await request(listen(warm.app)).get('/json?fresh=1')).headers['x-cache-status']).toBe('Miss');
    await sleep(20); // the write to Redis is fire-and-forget
    // A new instance whose own client starts connecting now, and a request that cannot wait.
    const fresh = expressApp(cache({ strategy: 'redis', redis: { url: 'redis://127.0.0.1:6379', prefix } }));
    const server = listen(fresh.app);
    const [hit, miss] = await Promise.all([request(server).get('/json?fresh=1'), request(server).get('/json?fresh=2')]);
    expect(hit.headers['x-cache-status']).toBe('Hit');
    expect(hit.body).toEqual({ n: 1, user: null, q: { fresh: '1' } });
    expect(miss.headers['x-cache-status']).toBe('Miss');
    expect(fresh.calls.json).toBe(1);
  });

  it('purges one key and all keys under its own prefix only', async () => {
    const prefix = uniquePrefix();
    const other = uniquePrefix();
    const mine = cache({ strategy: 'redis', redis: { url: 'redis://127.0.0.1:6379', prefix } });
    const theirs = cache({ strategy: 'redis', redis: { client: redis, prefix: other } });
    const server = listen(expressApp(mine).app);
    const otherServer = listen(expressApp(theirs).app);
    await request(server).get('/json');
    await request(server).get('/text');
    await request(otherServer).get('/text');
    await sleep(20);
    const key = (await request(server).get('/json')).headers['x-cache-key'] as string;
    expect(await mine.purge(key)).toBe(true);
    expect(await mine.purge(key)).toBe(false);
    expect((await request(server).get('/json')).headers['x-cache-status']).toBe('Miss');
    await mine.purgeAll();
    expect(await redis.keys(`${prefix}*`)).toEqual([]);
    expect((await redis.keys(`${other}*`)).length).toBe(1);
    expect((await request(otherServer).get('/text')).headers['x-cache-status']).toBe('Hit');
  });
});

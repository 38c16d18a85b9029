import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import request from 'supertest';
import { proxyCache, upstreamProxy } from 'tollgate';
import { gateway } from 'tollgate/express';

const servers: Server[] = [];
const closers: (() => void)[] = [];
afterAll(async () => {
  for (const close of closers) close();
  for (const s of servers) s.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

describe('proxyCache in front of upstreamProxy', () => {
  it('stores what the upstream answered, sends one upstream request for a burst, and replays it', async () => {
    let upstreamRequests = 0;
    const upstream = http.createServer((req, res) => {
      upstreamRequests++;
      setTimeout(() => {
        res.writeHead(200, { 'Content-Type': 'application/json', 'X-Upstream': 'yes' });
        res.end(JSON.stringify({ url: req.url, n: upstreamRequests }));
      }, 80);
    });
    servers.push(upstream);
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const proxy = upstreamProxy({ url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` });
    closers.push(() => proxy.close());
    const app = express();
    app.use('/httpbin', gateway(proxyCache({ cacheTtl: 30 }), proxy));
    const server = http.createServer(app).listen(0, '127.0.0.1');
    servers.push(server);

    const burst = await Promise.all(Array.from({ length: 5 }, () => request(server).get('/httpbin/get?x=1')));
    expect(upstreamRequests).toBe(1);
    expect(burst.map((r) => r.headers['x-cache-status']).sort()).toEqual(['Hit', 'Hit', 'Hit', 'Hit', 'Miss']);
    expect(burst.every((r) => r.body.url === '/get?x=1' && r.body.n === 1)).toBe(true);

    const hit = await request(server).get('/httpbin/get?x=1');
    expect(hit.headers['x-cache-status']).toBe('Hit');
    expect(hit.headers['x-upstream']).toBe('yes');
    expect(hit.headers['x-tollgate-upstream-latency']).toBeUndefined();
    expect(hit.headers['x-tollgate-response-latency']).toMatch(/^\d+$/);
    expect(upstreamRequests).toBe(1);

    const other = await request(server).get('/httpbin/get?x=2');
    expect(other.headers['x-cache-status']).toBe('Miss');
    expect(other.headers['x-tollgate-upstream-latency']).toMatch(/^\d+$/);
    expect(upstreamRequests).toBe(2);
  });
});

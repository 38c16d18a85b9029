import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import request from 'supertest';
import { proxyCache, upstreamProxy } from 'tollgate';
import { gateway } from 'tollgate/express';
import { createEchoUpstream, type EchoResponse } from 'tollgate/testing';

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

  describe('the host', () => {
    /** The walkthrough's shape: the cache in front of the echo upstream, which shows the headers it got. */
    async function stack(trustProxy: boolean) {
      const echo = await createEchoUpstream();
      closers.push(() => void echo.close());
      const proxy = upstreamProxy({ url: echo.url });
      closers.push(() => proxy.close());
      const app = express();
      app.set('trust proxy', trustProxy);
      app.use('/httpbin', gateway(proxyCache({ cacheTtl: 30 }), proxy));
      const server = http.createServer(app).listen(0, '127.0.0.1');
      servers.push(server);
      await new Promise((r) => server.once('listening', r));
      return server;
    }
    const forwardedHost = (res: request.Response) => (res.body as EchoResponse).headers['x-forwarded-host'];

    it("never serves a response fetched with an attacker's Host to another host's clients", async () => {
      const server = await stack(false);
      const poisoned = await request(server).get('/httpbin/get').set('host', 'evil.example');
      expect(forwardedHost(poisoned)).toBe('evil.example');
      const victim = await request(server).get('/httpbin/get').set('host', 'shop.example');
      expect(victim.headers['x-cache-status']).toBe('Miss');
      expect(forwardedHost(victim)).toBe('shop.example');
      // Nor one fetched with a port the server does not listen on: links built from it would break.
      const port = await request(server).get('/httpbin/get').set('host', 'shop.example:1');
      expect(port.headers['x-cache-status']).toBe('Miss');
      expect(forwardedHost(port)).toBe('shop.example:1');
      // The port the request arrived on, or the scheme's default, names the same target.
      const own = (server.address() as AddressInfo).port;
      for (const host of [`shop.example:${own}`, 'shop.example:80']) {
        expect([host, (await request(server).get('/httpbin/get').set('host', host)).headers['x-cache-status']]).toEqual([host, 'Hit']);
      }
      // The host's case does not make another entry (RFC 3986 §6.2.2.1).
      const again = await request(server).get('/httpbin/get').set('host', 'SHOP.example');
      expect(again.headers['x-cache-status']).toBe('Hit');
      expect(forwardedHost(again)).toBe('shop.example');
    });

    it('keys on the forwarding headers passed upstream behind a trusted proxy', async () => {
      const server = await stack(true);
      const poisoned = await request(server).get('/httpbin/get').set('host', 'shop.example').set('x-forwarded-for', '203.0.113.9').set('x-forwarded-host', 'evil.example');
      expect(forwardedHost(poisoned)).toBe('evil.example');
      const victim = await request(server).get('/httpbin/get').set('host', 'shop.example').set('x-forwarded-for', '203.0.113.9');
      expect(victim.headers['x-cache-status']).toBe('Miss');
      expect(forwardedHost(victim)).toBe('shop.example');
      for (const [name, value] of [['x-forwarded-proto', 'https'], ['x-forwarded-port', '8443'], ['x-forwarded-prefix', '/evil'], ['forwarded', 'host=evil.example']]) {
        const res = await request(server).get('/httpbin/get').set('host', 'shop.example').set(name!, value!);
        expect([name, res.headers['x-cache-status']]).toEqual([name, 'Miss']);
      }
    });
  });
});

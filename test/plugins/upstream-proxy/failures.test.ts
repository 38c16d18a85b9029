import type { AddressInfo } from 'node:net';
import http, { type Server } from 'node:http';
import express from 'express';
import { setLogger, upstreamProxy, type Logger, type UpstreamProxyOptions, type UpstreamProxyPlugin } from 'tollgate';
import { gateway } from 'tollgate/express';
import { createTestContext, runPlugin } from 'tollgate/testing';
import { closedPort, echoHandler, eventually, listen, listenTcp, send, type Running } from './servers';

const logged: string[] = [];
const quiet: Logger = { debug() {}, info() {}, warn: (m) => void logged.push(m), error: (m) => void logged.push(m) };

describe('upstreamProxy failures', () => {
  const plugins: UpstreamProxyPlugin[] = [];
  const closers: (() => Promise<unknown>)[] = [];

  /** A gateway app with one proxy, listening on loopback. */
  async function gatewayFor(options: UpstreamProxyOptions): Promise<{ url: string; plugin: UpstreamProxyPlugin }> {
    const plugin = upstreamProxy(options);
    plugins.push(plugin);
    const app = express();
    app.use('/api', gateway(plugin));
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    closers.push(() => new Promise((r) => server.close(r)));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`, plugin };
  }
  const track = (r: Running) => {
    closers.push(() => r.close());
    return r;
  };

  beforeAll(() => setLogger(quiet));
  afterAll(() => setLogger(null));
  afterEach(async () => {
    for (const p of plugins.splice(0)) p.close();
    await Promise.all(closers.splice(0).map((c) => c()));
    logged.length = 0;
  });

  it('answers 502 with the JSON message when the upstream refuses the connection', async () => {
    const gw = await gatewayFor({ url: `http://127.0.0.1:${await closedPort()}` });
    const began = Date.now();
    const res = await send(`${gw.url}/get`);
    expect(res.status).toBe(502);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.json()).toEqual({ message: 'An invalid response was received from the upstream server' });
    expect(res.headers['x-tollgate-response-latency']).toMatch(/^\d+$/);
    expect(Date.now() - began).toBeLessThan(2000);
    expect(logged.some((m) => m.includes('failed'))).toBe(true);
  });

  it('answers 502 when the upstream answers something that is not HTTP', async () => {
    const garbage = track(await listenTcp((socket) => socket.end('NOT HTTP AT ALL\r\n\r\n')));
    const gw = await gatewayFor({ url: garbage.url });
    const res = await send(`${gw.url}/get`);
    expect(res.status).toBe(502);
    // A malformed response is not retried: the upstream may have acted on the request.
    expect(garbage.connections).toBe(1);
  });

  it('retries a reset GET on a new connection but never a POST', async () => {
    const reset = track(await listenTcp((socket) => socket.resetAndDestroy()));
    const gw = await gatewayFor({ url: reset.url, retries: 2 });
    expect((await send(`${gw.url}/get`)).status).toBe(502);
    expect(reset.connections).toBe(3);
    const before = reset.connections;
    expect((await send(`${gw.url}/post`, { method: 'POST', body: 'x' })).status).toBe(502);
    expect(reset.connections - before).toBe(1);
  });

  it('answers 504 promptly when the upstream is slower than readTimeout, and closes the upstream request', async () => {
    let upstreamClosed = false;
    const slow = track(
      await listen((req, res) => {
        res.on('close', () => (upstreamClosed = true));
        setTimeout(() => res.end('too late'), 3000).unref();
      }),
    );
    const gw = await gatewayFor({ url: slow.url, readTimeout: 200 });
    const began = Date.now();
    const res = await send(`${gw.url}/slow`);
    expect(res.status).toBe(504);
    expect(res.json()).toEqual({ message: 'The upstream server is timing out' });
    expect(Date.now() - began).toBeLessThan(1500);
    await eventually(() => upstreamClosed, 1000);
    // A read timeout is not retried (the upstream is working on it).
    expect(slow.connections).toBe(1);
  });

  it('answers 504 after connectTimeout when a target never completes the connection, trying the next one first', async () => {
    // Accepts TCP but never answers the TLS handshake: the connection is never established.
    const silent = track(await listenTcp(() => {}));
    const gw = await gatewayFor({ url: `https://127.0.0.1:${silent.port}`, connectTimeout: 150, retries: 1 });
    const began = Date.now();
    const res = await send(`${gw.url}/get`);
    expect(res.status).toBe(504);
    expect(res.json()).toEqual({ message: 'The upstream server is timing out' });
    expect(Date.now() - began).toBeLessThan(1500);
    // A connect timeout is a connection failure: retried.
    expect(silent.connections).toBe(2);
  });

  it('does not count a slow client pausing the response as upstream silence', async () => {
    const size = 32 * 1024 * 1024;
    // Made once, before any request: filling 32 MB inside the handler can take most of readTimeout
    // on a busy machine, and the test is about the body, not about a slow head.
    const body = Buffer.alloc(size, 7);
    const big = track(await listen((_req, res) => res.end(body)));
    const gw = await gatewayFor({ url: big.url, readTimeout: 200 });
    const received = await new Promise<number>((resolve, reject) => {
      http
        .get(`${gw.url}/big`, (res) => {
          res.pause();
          // Far longer than readTimeout: the gateway's writes back up and it stops reading upstream.
          setTimeout(() => {
            let n = 0;
            res.on('data', (c: Buffer) => (n += c.length));
            res.on('end', () => resolve(n));
            res.on('error', reject);
            res.resume();
          }, 700);
        })
        .on('error', reject);
    });
    expect(received).toBe(size);
  });

  it('aborts the upstream request when the client disconnects', async () => {
    let arrived!: () => void;
    const arrival = new Promise<void>((r) => (arrived = r));
    let upstreamClosed = false;
    const hanging = track(
      await listen((req, res) => {
        res.on('close', () => (upstreamClosed = true));
        arrived();
      }),
    );
    const gw = await gatewayFor({ url: hanging.url });
    const client = http.get(`${gw.url}/wait`);
    client.on('error', () => {});
    await arrival;
    client.destroy();
    await eventually(() => upstreamClosed, 2000);
  });

  it('skips a dead target and keeps it out of the rotation', async () => {
    const live = track(await listen(echoHandler()));
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const gw = await gatewayFor({ targets: [dead, live.url] });
    for (let i = 0; i < 6; i++) expect((await send(`${gw.url}/get`)).status).toBe(200);
    expect(gw.plugin.health()).toEqual([
      { url: `${dead}/`, healthy: false, downUntil: expect.any(Number) },
      { url: `${live.url}/`, healthy: true },
    ]);
  });

  it('sends a failing target no traffic during the cooldown, and tries it again afterwards', async () => {
    const live = track(await listen(echoHandler()));
    const resetting = track(await listenTcp((socket) => socket.resetAndDestroy()));
    const gw = await gatewayFor({ targets: [resetting.url, live.url], healthchecks: { passive: { cooldown: 0.3 } } });
    for (let i = 0; i < 6; i++) expect((await send(`${gw.url}/get`)).status).toBe(200);
    expect(resetting.connections).toBe(1);
    await new Promise((r) => setTimeout(r, 400));
    for (let i = 0; i < 2; i++) expect((await send(`${gw.url}/get`)).status).toBe(200);
    expect(resetting.connections).toBe(2);
  });

  it('answers 503 with Retry-After when no target is healthy', async () => {
    const a = `http://127.0.0.1:${await closedPort()}`;
    const b = `http://127.0.0.1:${await closedPort()}`;
    const gw = await gatewayFor({ targets: [a, b], healthchecks: { passive: { cooldown: 30 } } });
    const first = await send(`${gw.url}/get`);
    expect(first.status).toBe(503);
    expect(first.json()).toEqual({ message: 'No healthy upstream' });
    const second = await send(`${gw.url}/get`);
    expect(second.status).toBe(503);
    expect(Number(second.headers['retry-after'])).toBeGreaterThanOrEqual(29);
    expect(Number(second.headers['retry-after'])).toBeLessThanOrEqual(30);
  });

  it('retries a connect failure of a streamed PUT on the next target, the body not yet sent', async () => {
    const live = track(await listen(echoHandler()));
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const gw = await gatewayFor({ targets: [dead, live.url] });
    const res = await send(`${gw.url}/put`, { method: 'PUT', body: 'payload', headers: { 'Content-Type': 'text/plain' } });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ method: 'PUT', body: 'payload' });
  });

  it('throws a clear error without Node req/res (tollgate/testing)', async () => {
    const plugin = upstreamProxy({ url: 'http://127.0.0.1:1' });
    plugins.push(plugin);
    const result = await runPlugin(plugin, createTestContext());
    expect(result.status).toBe(500);
    expect(result.body).toEqual({ message: 'An unexpected error occurred' });
    expect(logged.some((m) => m.includes('upstream-proxy'))).toBe(true);
  });
});

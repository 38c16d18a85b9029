/**
 * One form of the request path for every decision (RFC 3986 §6.2.2, as Kong normalises before
 * routing): dot segments cannot climb out of a mount, and spellings cannot split a rate limit.
 */
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Koa from 'koa';
import mount from 'koa-mount';
import { rateLimit, upstreamProxy, type UpstreamProxyPlugin } from 'tollgate';
import { gateway } from 'tollgate/express';
import { gateway as koaGateway } from 'tollgate/koa';
import { createEchoUpstream, createTestContext, type EchoResponse, type EchoUpstream } from 'tollgate/testing';
import { normalizePath, routeIdentity, underMount } from '../../src/core/path';

describe('normalizePath', () => {
  it.each([
    ['/api/../admin', '/admin'],
    ['/api/%2e%2e/admin', '/admin'],
    ['/api/%2E%2e/admin', '/admin'],
    ['/api/.%2E/admin', '/admin'],
    ['/api/x/../../admin', '/admin'],
    ['/api/./x', '/api/x'],
    ['/a/b/.', '/a/b/'],
    ['/a/b/..', '/a/'],
    ['/../../x', '/x'],
    ['/%7euser/%41', '/~user/A'],
    ['/a%2fb/%2e', '/a%2Fb/'],
    ['/a//b', '/a//b'],
    ['http://example.com/login?x=1', '/login'],
    ['http://example.com/a/../b', '/b'],
    ['/plain/path', '/plain/path'],
  ])('normalises %s to %s', (raw, normal) => {
    expect(normalizePath(raw)).toBe(normal);
  });

  it('tells whether a normal path is still under its mount', () => {
    expect(underMount('/api/x', '/api')).toBe('/x');
    expect(underMount('/api', '/api')).toBe('/');
    expect(underMount('/admin', '/api')).toBeUndefined();
    expect(underMount('/apix', '/api')).toBeUndefined();
    expect(underMount('/anything', '')).toBe('/anything');
  });

  it('folds the spellings of one route into one identity', () => {
    for (const spelling of ['/login', '/LOGIN', '/Login/', '//login', '/login//']) expect(routeIdentity(spelling)).toBe('/login');
  });

  it('gives tollgate/testing contexts the same form', () => {
    const ctx = createTestContext({ url: '/api/./v/%2e%2e/get?x=1', mountPath: '/api' });
    expect(ctx.request.originalPath).toBe('/api/get');
    expect(ctx.request.path).toBe('/get');
    expect(ctx.request.search).toBe('x=1');
  });
});

/** A raw request: `path` goes on the wire exactly as written (superagent would resolve it). */
function raw(server: Server, path: string, method = 'GET'): Promise<{ status: number; body: string }> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, headers: { host: `127.0.0.1:${port}` } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('paths through a gateway', () => {
  let upstream: EchoUpstream;
  const servers: Server[] = [];
  const proxies: UpstreamProxyPlugin[] = [];
  const listen = async (handler: http.RequestListener): Promise<Server> => {
    const server = http.createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    return server;
  };
  const proxy = () => {
    const p = upstreamProxy({ url: `${upstream.url}/anything/v1` });
    proxies.push(p);
    return p;
  };

  beforeAll(async () => {
    upstream = await createEchoUpstream();
  });
  afterAll(async () => {
    for (const p of proxies) p.close();
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    await upstream.close();
  });

  const climbs = ['/api/../admin', '/api/%2e%2e/admin', '/api/%2E%2E/admin', '/api/.%2e/admin', '/api/x/../../admin', '/api/..', '/api/%2e%2E'];

  it.each([
    ['Express', () => {
      const app = express();
      app.use('/api', gateway(proxy()));
      app.use((_req, res) => void res.status(404).send('app'));
      return listen(app);
    }],
    ['Koa', () => {
      const app = new Koa();
      app.use(mount('/api', koaGateway(proxy())));
      return listen(app.callback());
    }],
  ])('never sends a path that leaves the mount upstream (%s)', async (_host, make) => {
    const server = await make();
    const before = upstream.requests;
    for (const path of climbs) {
      const res = await raw(server, path);
      expect([path, res.status]).toEqual([path, 400]);
      expect(JSON.parse(res.body)).toEqual({ message: 'The request path leaves the path this gateway is mounted on' });
    }
    expect(upstream.requests).toBe(before);
    // Dot segments that stay inside the mount are resolved, and the upstream gets the result.
    const inside = await raw(server, '/api/./x/../get?q=1');
    expect(inside.status).toBe(200);
    expect((JSON.parse(inside.body) as EchoResponse).url).toBe('/anything/v1/get?q=1');
  });

  it("counts /api, /API and /Api/ as one service budget", async () => {
    const app = express();
    app.use('/api', gateway(rateLimit({ minute: 2, limitBy: 'service' })));
    app.use((_req, res) => void res.send('ok'));
    const server = await listen(app);
    const statuses = [];
    for (const path of ['/api', '/API', '/Api/', '/aPi/x']) statuses.push((await raw(server, path)).status);
    expect(statuses).toEqual([200, 200, 429, 429]);
  });

  it('counts every spelling of the limited path, absolute form included, as that path', async () => {
    const app = express();
    app.use(gateway(rateLimit({ minute: 3, limitBy: 'path', path: '/login' })));
    app.use((_req, res) => void res.send('ok'));
    const server = await listen(app);
    const { port } = server.address() as AddressInfo;
    const statuses = [];
    for (const path of ['/login', '/LOGIN', '/login/', `http://127.0.0.1:${port}/login`, '/x/../login', '/%6Cogin']) statuses.push((await raw(server, path, 'POST')).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429, 429]);
  });
});

/**
 * tollgate/fastify: the walkthrough's policies in a Fastify 5 app, tested with `fastify.inject`
 * (and once over a real socket): Miss → Hit with Age, the rate-limit countdown and 429, 401 for
 * a wrong secret, the upstream path with the scope's prefix stripped; routes outside the gateway's
 * scope untouched; the app's own route cached and given the context.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import express from 'express';
import request from 'supertest';
import { definePlugin, oidc, proxyCache, rateLimit, setLogger, upstreamProxy, type UpstreamProxyPlugin } from 'tollgate';
import { gateway, getContext } from 'tollgate/fastify';
import { createEchoUpstream, createTestIssuer, type EchoResponse, type EchoUpstream, type TestIssuer } from 'tollgate/testing';
import { testClock } from '../plugins/rate-limit/support';

const CLIENT = { clientId: 'fastify-client', clientSecret: 'fastify-secret', audience: 'https://fastify.api' };
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

describe('gateway (fastify)', () => {
  let idp: TestIssuer;
  let upstream: EchoUpstream;
  const proxies: UpstreamProxyPlugin[] = [];
  const apps: FastifyInstance[] = [];
  const proxy = (url: string) => {
    const p = upstreamProxy({ url });
    proxies.push(p);
    return p;
  };
  const fastify = () => {
    const app = Fastify();
    apps.push(app);
    return app;
  };

  beforeAll(async () => {
    idp = await createTestIssuer({ clients: [CLIENT] });
    upstream = await createEchoUpstream();
  });
  afterEach(async () => {
    for (const p of proxies.splice(0)) p.close();
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });
  afterAll(async () => {
    await Promise.all([idp.close(), upstream.close()]);
  });

  const walkthrough = () =>
    gateway(
      oidc({ issuer: idp.issuer, authMethods: ['client_credentials', 'bearer'], tokenPostArgs: { audience: CLIENT.audience }, audience: CLIENT.audience, allowInsecureIssuer: true }),
      rateLimit({ minute: 5, policy: 'local', now: testClock() }),
      proxyCache({ strategy: 'memory', cacheTtl: 30 }),
      proxy(`${upstream.url}/anything`),
    );

  it("plays the walkthrough with fastify.inject: 401s, Miss then Hit with Age, the countdown, then 429", async () => {
    const app = fastify();
    app.register(walkthrough(), { prefix: '/httpbin' });
    app.get('/health', async () => ({ ok: true }));

    const none = await app.inject({ url: '/httpbin/get' });
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer realm="127\.0\.0\.1:\d+"$/);
    const wrong = await app.inject({ url: '/httpbin/get', headers: { authorization: basic(CLIENT.clientId, 'not-the-secret') } });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json()).toEqual({ message: 'Unauthorized' });

    const authorization = basic(CLIENT.clientId, CLIENT.clientSecret);
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await app.inject({ url: '/httpbin/get?x=1', headers: { authorization } }));
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200, 200, 200, 429]);
    expect(answers.slice(0, 5).map((a) => a.headers['x-cache-status'])).toEqual(['Miss', 'Hit', 'Hit', 'Hit', 'Hit']);
    expect(answers[1]!.headers.age).toMatch(/^\d+$/);
    expect(answers.map((a) => a.headers['x-ratelimit-remaining-minute'])).toEqual(['4', '3', '2', '1', '0', '0']);
    expect(answers[5]!.json()).toEqual({ message: 'API rate limit exceeded' });
    expect(Number(answers[5]!.headers['retry-after'])).toBeGreaterThanOrEqual(1);

    // The scope's prefix is left out upstream; the token exchanged for the Basic credentials goes instead.
    const echo = answers[0]!.json<EchoResponse>();
    expect(echo.url).toBe('/anything/get?x=1');
    expect(echo.headers.authorization).toMatch(/^Bearer eyJ/);
    expect(echo.headers['x-forwarded-prefix']).toBe('/httpbin');
    expect(answers[0]!.headers.via).toBe('1.1 tollgate');

    // Outside the gateway's scope: no policy at all.
    const health = await app.inject({ url: '/health' });
    expect(health.statusCode).toBe(200);
    expect(health.headers['x-ratelimit-limit-minute']).toBeUndefined();
    expect(health.json()).toEqual({ ok: true });
  });

  it('caches the app’s own route, which gets the context, in an encapsulated scope', async () => {
    const seen: unknown[] = [];
    const tenant = definePlugin({
      name: 'tenant',
      priority: 1000,
      access(ctx) {
        ctx.shared.tenant = ctx.request.header('x-tenant') ?? '';
      },
    });
    let calls = 0;
    const app = fastify();
    app.register(async (api) => {
      await api.register(gateway(tenant, rateLimit({ minute: 100, policy: 'local' }), proxyCache({ strategy: 'memory', cacheTtl: 30 })));
      api.get('/items/:id', async (req) => {
        calls++;
        const ctx = getContext(req);
        seen.push([ctx.shared.tenant, ctx.request.mountPath, ctx.request.path, ctx.request.route]);
        return { id: (req.params as { id: string }).id, calls };
      });
    }, { prefix: '/api' });
    app.get('/outside', async (req) => {
      expect(() => getContext(req)).toThrow(TypeError);
      return 'untouched';
    });

    const first = await app.inject({ url: '/api/items/7', headers: { 'x-tenant': 'acme' } });
    expect(first.statusCode).toBe(200);
    expect(first.headers['x-cache-status']).toBe('Miss');
    expect(first.headers['x-ratelimit-remaining-minute']).toBe('99');
    expect(first.json()).toEqual({ id: '7', calls: 1 });
    const second = await app.inject({ url: '/api/items/7', headers: { 'x-tenant': 'acme' } });
    expect(second.headers['x-cache-status']).toBe('Hit');
    expect(second.headers.age).toMatch(/^\d+$/);
    expect(second.json()).toEqual({ id: '7', calls: 1 });
    expect(calls).toBe(1);
    expect(seen).toEqual([['acme', '/api', '/items/7', '/api/items/:id']]);

    const outside = await app.inject({ url: '/outside' });
    expect(outside.body).toBe('untouched');
    expect(outside.headers['x-cache-status']).toBeUndefined();
    expect(outside.headers['x-ratelimit-limit-minute']).toBeUndefined();
  });

  it('proxies over a real socket, streaming a POST body upstream that Fastify never parsed', async () => {
    const app = fastify();
    app.register(gateway(proxy(upstream.url)), { prefix: '/up' });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const res = await request(app.server).post('/up/anything/x?y=2').set('content-type', 'application/json').send('{"a":[1,2]}');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ method: 'POST', url: '/anything/x?y=2', json: { a: [1, 2] } });
    const head = await request(app.server).head('/up/get');
    expect(head.status).toBe(200);
    expect(head.headers['content-type']).toMatch(/^application\/json/);
    // The scope's root itself goes upstream too.
    expect((await request(app.server).get('/up')).status).toBe(404);
    expect(((await request(app.server).get('/up/get')).body as EchoResponse).path).toBe('/get');
  });

  it('answers 502 JSON, with the other plugins’ headers, when the upstream refuses', async () => {
    const app = fastify();
    app.register(gateway(rateLimit({ minute: 100, policy: 'local' }), proxy('http://127.0.0.1:1')), { prefix: '/down' });
    const res = await app.inject({ url: '/down/x' });
    expect(res.statusCode).toBe(502);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.json()).toEqual({ message: 'An invalid response was received from the upstream server' });
    expect(res.headers['x-ratelimit-limit-minute']).toBe('100');
  });

  it('runs the header and body phases on the app’s answers, Fastify’s own 404 and errors included', async () => {
    const calls: string[] = [];
    const shout = definePlugin({
      name: 'shout',
      priority: 1,
      headerFilter(ctx) {
        calls.push(`header:${ctx.response.status}`);
        ctx.response.setHeader('x-status-seen', String(ctx.response.status));
      },
      bodyFilter(_ctx, chunk) {
        return Buffer.from(chunk.toString().toUpperCase());
      },
      log(ctx) {
        calls.push(`log:${ctx.response.status}`);
      },
    });
    const app = fastify();
    app.register(async (scope) => {
      await scope.register(gateway(shout));
      scope.get('/text', async () => 'hello');
      scope.get('/boom', async () => {
        throw new Error('boom');
      });
      scope.setNotFoundHandler((_req, reply) => void reply.code(404).send({ message: 'nothing here' }));
    }, { prefix: '/s' });
    const text = await app.inject({ url: '/s/text' });
    expect(text.body).toBe('HELLO');
    expect(text.headers['content-length']).toBe('5');
    expect(text.headers['x-status-seen']).toBe('200');
    const boom = await app.inject({ url: '/s/boom' });
    expect(boom.statusCode).toBe(500);
    expect(boom.headers['x-status-seen']).toBe('500');
    const missing = await app.inject({ url: '/s/missing' });
    expect(missing.statusCode).toBe(404);
    expect(missing.body).toBe('{"MESSAGE":"NOTHING HERE"}');
    await new Promise((r) => setTimeout(r, 20));
    expect(calls).toEqual(['header:200', 'log:200', 'header:500', 'log:500', 'header:404', 'log:404']);
  });

  it('shares one context between gateways of nested scopes, each relative to its own prefix', async () => {
    const seen: string[] = [];
    const note = (name: string, priority: number) =>
      definePlugin({ name, priority, access: (ctx) => void seen.push(`${name} ${ctx.request.mountPath}|${ctx.request.path}`) });
    const app = fastify();
    app.register(gateway(note('outer', 20)));
    app.register(async (api) => {
      await api.register(gateway(note('inner', 10)));
      api.get('/x', async (req) => ({ mount: getContext(req).request.mountPath }));
    }, { prefix: '/api' });
    const res = await app.inject({ url: '/api/x' });
    expect(res.json()).toEqual({ mount: '/api' });
    expect(seen).toEqual(['outer |/api/x', 'inner /api|/x']);
  });

  it('refuses a path whose dot segments leave the prefix, and never sends it upstream', async () => {
    const app = fastify();
    app.register(gateway(proxy(upstream.url)), { prefix: '/api' });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as AddressInfo).port;
    const before = upstream.requests;
    const status = (path: string) =>
      new Promise<number>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port, path }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        }).on('error', reject);
      });
    expect(await status('/api/%2e%2e/admin')).toBe(400);
    expect(await status('/api/./..//admin')).toBe(400);
    expect(upstream.requests).toBe(before);
  });

  it('answers 500 JSON and names tollgate/express when an Express app mounts it', async () => {
    const lines: string[] = [];
    setLogger({ debug() {}, info() {}, warn() {}, error: (m: string) => void lines.push(m) });
    try {
      const app = express();
      app.use(gateway(rateLimit({ minute: 5 })) as unknown as express.RequestHandler);
      const res = await request(app).get('/');
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ message: 'An unexpected error occurred' });
      expect(lines).toEqual([expect.stringContaining("import { gateway } from 'tollgate/express'")]);
    } finally {
      setLogger(null);
    }
  });

  it('listens on a real port with the walkthrough and answers a bearer token from the test issuer', async () => {
    const app = fastify();
    app.register(walkthrough(), { prefix: '/httpbin' });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const token = await idp.clientToken(CLIENT.clientId, { audience: CLIENT.audience });
    const port = (app.server.address() as AddressInfo).port;
    const res = await fetch(`http://127.0.0.1:${port}/httpbin/get`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as EchoResponse).url).toBe('/anything/get');
  });
});

declare module 'tollgate' {
  interface SharedState {
    tenant: string;
  }
}

/**
 * tollgate/node: a gateway with no framework, as `http.createServer`'s listener (and over
 * node:http2's compatibility API): the walkthrough's policies, 404 JSON when nothing answers, a
 * `next` for connect-style stacks, and the header and body phases on a response the app writes.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Koa from 'koa';
import request from 'supertest';
import { definePlugin, oidc, proxyCache, rateLimit, setLogger, upstreamProxy, type UpstreamProxyPlugin } from 'tollgate';
import { gateway, getContext } from 'tollgate/node';
import { createEchoUpstream, createTestIssuer, type EchoResponse, type EchoUpstream, type TestIssuer } from 'tollgate/testing';
import { testClock } from '../plugins/rate-limit/support';

const CLIENT = { clientId: 'node-client', clientSecret: 'node-secret', audience: 'https://node.api' };
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const tls = {
  key: readFileSync(join(__dirname, '../support/tls/localhost-key.pem')),
  cert: readFileSync(join(__dirname, '../support/tls/localhost-cert.pem')),
};

const shout = (calls: string[]) =>
  definePlugin({
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

describe('gateway (node:http)', () => {
  let idp: TestIssuer;
  let upstream: EchoUpstream;
  const proxies: UpstreamProxyPlugin[] = [];
  const proxy = (url: string) => {
    const p = upstreamProxy({ url });
    proxies.push(p);
    return p;
  };

  beforeAll(async () => {
    idp = await createTestIssuer({ clients: [CLIENT] });
    upstream = await createEchoUpstream();
  });
  afterEach(() => {
    for (const p of proxies.splice(0)) p.close();
  });
  afterAll(async () => {
    await Promise.all([idp.close(), upstream.close()]);
  });

  it('plays the walkthrough: 401s, Miss then Hit with Age, the countdown, then 429', async () => {
    const server = http.createServer(
      gateway(
        oidc({ issuer: idp.issuer, authMethods: ['client_credentials', 'bearer'], tokenPostArgs: { audience: CLIENT.audience }, audience: CLIENT.audience, allowInsecureIssuer: true }),
        rateLimit({ minute: 5, policy: 'local', now: testClock() }),
        proxyCache({ strategy: 'memory', cacheTtl: 30 }),
        proxy(`${upstream.url}/anything/v1`),
      ),
    );
    const none = await request(server).get('/get');
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer realm="127\.0\.0\.1:\d+"$/);
    const wrong = await request(server).get('/get').set('authorization', basic(CLIENT.clientId, 'wrong'));
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ message: 'Unauthorized' });

    const agent = request.agent(server);
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await agent.get('/get?x=1').set('authorization', basic(CLIENT.clientId, CLIENT.clientSecret)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 429]);
    expect(answers.slice(0, 5).map((a) => a.headers['x-cache-status'])).toEqual(['Miss', 'Hit', 'Hit', 'Hit', 'Hit']);
    expect(answers[1]!.headers.age).toMatch(/^\d+$/);
    expect(answers.map((a) => a.headers['x-ratelimit-remaining-minute'])).toEqual(['4', '3', '2', '1', '0', '0']);
    expect(answers[5]!.body).toEqual({ message: 'API rate limit exceeded' });
    // The target's path comes first; with no framework there is no mount prefix to strip.
    const echo = answers[0]!.body as EchoResponse;
    expect(echo.url).toBe('/anything/v1/get?x=1');
    expect(echo.headers.authorization).toMatch(/^Bearer eyJ/);
    expect(echo.headers['x-forwarded-prefix']).toBeUndefined();
  });

  it('answers 404 JSON when no plugin answers and nothing comes after it, with the phases run', async () => {
    const calls: string[] = [];
    const server = http.createServer(gateway(rateLimit({ minute: 10, policy: 'local' }), shout(calls)));
    const res = await request(server).get('/nothing');
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.text).toBe('{"MESSAGE":"NOT FOUND"}');
    expect(res.headers['x-ratelimit-limit-minute']).toBe('10');
    expect(res.headers['x-status-seen']).toBe('404');
    await new Promise((r) => setTimeout(r, 20));
    expect(calls).toEqual(['header:404', 'log:404']);
  });

  it('hands the request to next, with the context, and runs the phases on what the app writes', async () => {
    const calls: string[] = [];
    const tollgate = gateway(shout(calls));
    const server = http.createServer((req, res) =>
      tollgate(req, res, () => {
        res.writeHead(201, { 'content-type': 'text/plain' });
        res.end(`app saw ${getContext(req).request.path}`);
      }),
    );
    const res = await request(server).get('/p?q=1');
    expect(res.status).toBe(201);
    expect(res.text).toBe('APP SAW /P');
    expect(res.headers['x-status-seen']).toBe('201');
  });

  it('does not believe the client’s X-Forwarded-For: the peer address is the client', async () => {
    const server = http.createServer(gateway(proxy(upstream.url)));
    const res = await request(server).get('/get').set('x-forwarded-for', '203.0.113.9');
    const echo = res.body as EchoResponse;
    expect(echo.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(echo.headers['x-real-ip']).toBe('127.0.0.1');
  });

  it('answers 500 JSON in Koa and names tollgate/koa', async () => {
    const lines: string[] = [];
    setLogger({ debug() {}, info() {}, warn() {}, error: (m: string) => void lines.push(m) });
    try {
      const app = new Koa();
      app.use(gateway(rateLimit({ minute: 5 })) as unknown as Koa.Middleware);
      const res = await request(app.callback()).get('/');
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ message: 'An unexpected error occurred' });
      expect(lines).toEqual([expect.stringContaining("import { gateway } from 'tollgate/koa'")]);
    } finally {
      setLogger(null);
    }
  });
});

describe('gateway (node:http2 compatibility API)', () => {
  let upstream: EchoUpstream;
  let proxied: UpstreamProxyPlugin;
  let server: http2.Http2SecureServer;
  let session: http2.ClientHttp2Session;
  const calls: string[] = [];
  /** Reads of Http2ServerResponse's statusMessage, which makes Node warn (HTTP/2 has none). */
  let statusMessageReads = 0;

  /** One HTTP/2 request. */
  const h2 = (path: string) =>
    new Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: string }>((resolve, reject) => {
      const stream = session.request({ ':path': path });
      let head: http2.IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      stream.on('response', (h) => (head = h));
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => resolve({ status: Number(head[':status']), headers: head, body: Buffer.concat(chunks).toString('utf8') }));
      stream.on('error', reject);
      stream.end();
    });

  beforeAll(async () => {
    upstream = await createEchoUpstream();
    proxied = upstreamProxy({ url: `${upstream.url}/anything` });
    const api = gateway(rateLimit({ minute: 100, policy: 'local', limitBy: 'ip' }), proxyCache({ strategy: 'memory', cacheTtl: 30 }), proxied);
    const app = gateway(shout(calls));
    server = http2.createSecureServer(tls, (req, res) => {
      Object.defineProperty(res, 'statusMessage', { get: () => (statusMessageReads++, '') });
      if (req.url.startsWith('/api/')) return api(req, res);
      if (req.url === '/app') {
        return app(req, res, () => {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.end('written by the app');
        });
      }
      app(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    session = http2.connect(`https://localhost:${(server.address() as AddressInfo).port}`, { ca: tls.cert });
  });

  afterAll(async () => {
    session.close();
    proxied.close();
    await new Promise((r) => server.close(r));
    await upstream.close();
  });

  it('proxies with no pseudo-header upstream, then answers from the cache', async () => {
    const miss = await h2('/api/get');
    expect(miss.status).toBe(200);
    expect(miss.headers['x-cache-status']).toBe('Miss');
    const echo = JSON.parse(miss.body) as EchoResponse;
    expect(echo.url).toBe('/anything/api/get');
    expect(Object.keys(echo.headers).filter((h) => h.startsWith(':'))).toEqual([]);
    const hit = await h2('/api/get');
    expect(hit.headers['x-cache-status']).toBe('Hit');
    expect(hit.headers['x-ratelimit-remaining-minute']).toBe('98');
  });

  it('runs the header and body phases on a response the app writes on Http2ServerResponse, and on the 404', async () => {
    const written = await h2('/app');
    expect(written.status).toBe(200);
    expect(written.body).toBe('WRITTEN BY THE APP');
    expect(written.headers['x-status-seen']).toBe('200');
    const missing = await h2('/none');
    expect(missing.status).toBe(404);
    expect(missing.body).toBe('{"MESSAGE":"NOT FOUND"}');
    expect(missing.headers['x-status-seen']).toBe('404');
    // HTTP/2 has no status message: reading or sending one makes Node warn.
    expect(statusMessageReads).toBe(0);
  });
});

import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import http from 'node:http';
import express from 'express';
import { definePlugin, setLogger, upstreamProxy, type UpstreamProxyPlugin } from 'tollgate';
import { gateway } from 'tollgate/express';
import { echoHandler, listen, readAll, send, sha256, type Echo, type Running } from './servers';

/** An Express app listening on loopback, and its base URL. */
async function serve(app: express.Express): Promise<{ server: Server; url: string; port: number }> {
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const port = (server.address() as AddressInfo).port;
  return { server, url: `http://127.0.0.1:${port}`, port };
}

describe('upstreamProxy (express)', () => {
  let upstream: Running;
  const logged: string[] = [];
  const plugins: UpstreamProxyPlugin[] = [];
  const servers: Server[] = [];
  const proxy = (options: Parameters<typeof upstreamProxy>[0]) => {
    const p = upstreamProxy(options);
    plugins.push(p);
    return p;
  };
  const start = async (app: express.Express) => {
    const s = await serve(app);
    servers.push(s.server);
    return s;
  };

  beforeAll(async () => {
    setLogger({ debug() {}, info() {}, warn: (m) => void logged.push(m), error: (m) => void logged.push(m) });
    upstream = await listen(
      echoHandler((res) => {
        res.setHeader('X-Upstream', 'yes');
        res.setHeader('Set-Cookie', ['a=1; Path=/', 'b=2; Path=/']);
        res.setHeader('X-Hop', 'secret');
        res.setHeader('Connection', 'keep-alive, X-Hop');
        res.setHeader('Keep-Alive', 'timeout=30');
      }),
    );
  });
  afterEach(async () => {
    for (const p of plugins.splice(0)) p.close();
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });
  afterAll(async () => {
    setLogger(null);
    await upstream.close();
  });

  it('sends /httpbin/get?x=1 upstream as /get?x=1 with the forwarded headers', async () => {
    const app = express();
    app.use('/httpbin', gateway(proxy({ url: upstream.url })));
    const gw = await start(app);
    const res = await send(`${gw.url}/httpbin/get?x=1`, {
      headers: { 'X-Forwarded-For': '6.6.6.6', 'X-Forwarded-Proto': 'https', 'X-Real-IP': '6.6.6.6' },
    });
    expect(res.status).toBe(200);
    const echo = res.json<Echo>();
    expect(echo.method).toBe('GET');
    expect(echo.url).toBe('/get?x=1');
    expect(echo.headers).toMatchObject({
      host: `127.0.0.1:${upstream.port}`,
      // Express trusts no proxy by default: the client's forwarded headers are replaced.
      'x-forwarded-for': '127.0.0.1',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': `127.0.0.1:${gw.port}`,
      'x-forwarded-port': String(gw.port),
      'x-forwarded-path': '/httpbin/get',
      'x-forwarded-prefix': '/httpbin',
      'x-real-ip': '127.0.0.1',
      via: '1.1 tollgate',
    });
  });

  it('appends to the client chain and keeps its X-Forwarded-* when trust proxy trusts the peer', async () => {
    const app = express();
    app.set('trust proxy', 'loopback');
    app.use('/httpbin', gateway(proxy({ url: upstream.url })));
    const gw = await start(app);
    const res = await send(`${gw.url}/httpbin/anything`, {
      headers: { 'X-Forwarded-For': '203.0.113.7', 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'api.example.com', 'X-Forwarded-Port': '443' },
    });
    expect(res.json<Echo>().headers).toMatchObject({
      'x-forwarded-for': '203.0.113.7, 127.0.0.1',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'api.example.com',
      'x-forwarded-port': '443',
      'x-forwarded-path': '/httpbin/anything',
      'x-real-ip': '203.0.113.7',
    });
  });

  it('answers with the upstream status and headers plus Via and the latency headers, hop-by-hop headers removed', async () => {
    const app = express();
    app.use('/httpbin', gateway(proxy({ url: upstream.url })));
    const gw = await start(app);
    const res = await send(`${gw.url}/httpbin/get`);
    expect(res.status).toBe(200);
    expect(res.headers['x-upstream']).toBe('yes');
    expect(res.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; Path=/']);
    expect(res.headers.via).toBe('1.1 tollgate');
    expect(res.headers['x-tollgate-upstream-latency']).toMatch(/^\d+$/);
    expect(res.headers['x-tollgate-proxy-latency']).toMatch(/^\d+$/);
    // Named in the upstream's Connection header, so hop-by-hop; the upstream's Keep-Alive is not relayed.
    expect(res.headers['x-hop']).toBeUndefined();
    expect(res.headers['keep-alive']).not.toBe('timeout=30');
  });

  it('removes hop-by-hop request headers and those the client names in Connection', async () => {
    const app = express();
    app.use(gateway(proxy({ url: upstream.url })));
    const gw = await start(app);
    const res = await send(`${gw.url}/x`, {
      headers: { Connection: 'keep-alive, X-Private', 'X-Private': '1', TE: 'trailers', 'Proxy-Authorization': 'Basic Zm9vOmJhcg==', 'X-Kept': 'ok' },
    });
    const headers = res.json<Echo>().headers;
    expect(headers['x-kept']).toBe('ok');
    expect(headers['x-private']).toBeUndefined();
    expect(headers.te).toBeUndefined();
    expect(headers['proxy-authorization']).toBeUndefined();
    // No X-Forwarded-Prefix at the root.
    expect(headers['x-forwarded-prefix']).toBeUndefined();
  });

  it("applies the client's Connection to what the client sent, never to the headers the gateway set (RFC 9110 §7.6.1)", async () => {
    const gatewaySets = definePlugin({
      name: 'claims',
      priority: 1000,
      access(ctx) {
        ctx.request.setHeader('x-client-id', 'verified-client');
        ctx.request.setHeader('x-tenant', 'acme');
      },
    });
    const app = express();
    app.use(gateway(gatewaySets, proxy({ url: upstream.url })));
    const gw = await start(app);
    const res = await send(`${gw.url}/x`, {
      headers: { Connection: 'keep-alive, X-Client-Id, x-tenant, X-Private', 'X-Client-Id': 'spoofed', 'X-Private': '1', 'X-Kept': 'ok' },
    });
    const headers = res.json<Echo>().headers;
    // Set by the gateway (the client sent none, or another value): forwarded whatever Connection says.
    expect(headers['x-client-id']).toBe('verified-client');
    expect(headers['x-tenant']).toBe('acme');
    // The client's own headers named in Connection are hop-by-hop: not forwarded.
    expect(headers['x-private']).toBeUndefined();
    expect(headers['x-kept']).toBe('ok');
  });

  it('drops underscored twins of the headers the gateway sets or removes, which CGI-style servers would merge', async () => {
    const gatewaySets = definePlugin({
      name: 'claims',
      priority: 1000,
      access(ctx) {
        ctx.request.setHeader('x-tenant', 'acme');
        ctx.request.removeHeader('x-role');
      },
    });
    const app = express();
    app.use(gateway(gatewaySets, proxy({ url: upstream.url })));
    const gw = await start(app);
    const res = await send(`${gw.url}/x`, {
      headers: {
        'x_tenant': 'evil',
        'X_Role': 'admin',
        'x-role': 'admin',
        'x_forwarded_for': '6.6.6.6',
        'X_Real_IP': '6.6.6.6',
        'x_forwarded_host': 'evil.example',
        'via_': 'kept: no dashed twin',
        'x_custom': 'kept',
      },
    });
    const headers = res.json<Echo>().headers;
    expect(headers['x-tenant']).toBe('acme');
    for (const name of ['x_tenant', 'x_role', 'x-role', 'x_forwarded_for', 'x_real_ip', 'x_forwarded_host']) expect([name, headers[name]]).toEqual([name, undefined]);
    expect(headers['x_custom']).toBe('kept');
    expect(headers['via_']).toBe('kept: no dashed twin');
  });

  it('keeps the path and query byte for byte, and joins the base path of url (stripPath false, preserveHost)', async () => {
    const app = express();
    app.use('/httpbin', gateway(proxy({ url: `${upstream.url}/base/`, stripPath: false, preserveHost: true })));
    app.use('/other', gateway(proxy({ url: `${upstream.url}/base` })));
    const gw = await start(app);
    const kept = (await send(`${gw.url}/httpbin/a//b%20c?next=https://x//y&q=%2F`)).json<Echo>();
    expect(kept.url).toBe('/base/httpbin/a//b%20c?next=https://x//y&q=%2F');
    expect(kept.headers.host).toBe(`127.0.0.1:${gw.port}`);
    expect((await send(`${gw.url}/other`)).json<Echo>().url).toBe('/base');
    expect((await send(`${gw.url}/other/`)).json<Echo>().url).toBe('/base/');
    expect((await send(`${gw.url}/other/get?x=1`)).json<Echo>().url).toBe('/base/get?x=1');
  });

  it('frames empty bodies as the client did: Content-Length 0 for a bare POST, nothing for GET, DELETE or HEAD', async () => {
    const app = express();
    app.use(gateway(proxy({ url: upstream.url })));
    const gw = await start(app);
    const post = (await send(`${gw.url}/p`, { method: 'POST' })).json<Echo>();
    expect(post.headers['content-length']).toBe('0');
    expect(post.headers['transfer-encoding']).toBeUndefined();
    for (const method of ['GET', 'DELETE']) {
      const echo = (await send(`${gw.url}/m`, { method })).json<Echo>();
      expect(echo.method).toBe(method);
      expect(echo.headers['content-length']).toBeUndefined();
      expect(echo.headers['transfer-encoding']).toBeUndefined();
    }
    const head = await send(`${gw.url}/h`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toHaveLength(0);
    expect(head.headers['x-upstream']).toBe('yes');
  });

  it('streams a 2 MB body both ways unchanged', async () => {
    const answer = randomBytes(2 * 1024 * 1024);
    const big = await listen(async (req, res) => {
      const body = await readAll(req);
      res.setHeader('X-Received-Sha256', sha256(body));
      res.setHeader('X-Received-Length', String(body.length));
      res.end(answer);
    });
    try {
      const app = express();
      app.use('/up', gateway(proxy({ url: big.url })));
      const gw = await start(app);
      const payload = randomBytes(2 * 1024 * 1024);
      const res = await send(`${gw.url}/up/blob`, { method: 'POST', body: payload, headers: { 'Content-Type': 'application/octet-stream' } });
      expect(res.status).toBe(200);
      expect(res.headers['x-received-length']).toBe(String(payload.length));
      expect(res.headers['x-received-sha256']).toBe(sha256(payload));
      expect(sha256(res.body)).toBe(sha256(answer));
    } finally {
      await big.close();
    }
  });

  it('streams the response as it comes instead of buffering it', async () => {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const slow = await listen(async (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.write('first;');
      await released;
      res.end('second');
    });
    try {
      const app = express();
      app.use(gateway(proxy({ url: slow.url })));
      const gw = await start(app);
      const body = await new Promise<string>((resolve, reject) => {
        http
          .get(`${gw.url}/stream`, (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              text += chunk;
              // Only reachable if the first chunk arrived before the upstream finished.
              if (text === 'first;') release();
            });
            res.on('end', () => resolve(text));
          })
          .on('error', reject);
      });
      expect(body).toBe('first;second');
    } finally {
      await slow.close();
    }
  });

  it('sends a JSON body that express.json() already read, re-serialised with its length', async () => {
    const app = express();
    app.use(express.json());
    app.use(express.urlencoded({ extended: true }));
    app.use('/api', gateway(proxy({ url: upstream.url })));
    const gw = await start(app);
    const json = JSON.stringify({ a: 1, list: [1, 'two', { three: 3 }], nested: { ok: true } });
    const res = await send(`${gw.url}/api/items`, { method: 'POST', body: json, headers: { 'Content-Type': 'application/json' } });
    expect(res.status).toBe(200);
    const echo = res.json<Echo>();
    expect(JSON.parse(echo.body)).toEqual(JSON.parse(json));
    expect(echo.headers['content-length']).toBe(String(Buffer.byteLength(echo.body)));

    const form = await send(`${gw.url}/api/form`, { method: 'POST', body: 'a[b]=1&c=2&c=3&d=x%20y', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    const sent = new URLSearchParams(form.json<Echo>().body);
    expect([...sent]).toEqual([
      ['a[b]', '1'],
      ['c', '2'],
      ['c', '3'],
      ['d', 'x y'],
    ]);
  });

  it('sends req.body as plugins edited it, and falls back to raw bytes a parser kept for other types', async () => {
    const scrub = definePlugin({
      name: 'scrub',
      priority: 1000,
      access(ctx) {
        const body = (ctx.raw!.req as { body?: Record<string, unknown> }).body;
        if (body) delete body.client_secret;
      },
    });
    const app = express();
    const keepRaw = (req: express.Request, _res: unknown, buf: Buffer) => void ((req as { rawBody?: Buffer }).rawBody = buf);
    app.use(express.json({ verify: keepRaw }));
    // A parser that reads XML and keeps only the raw bytes (no req.body).
    app.use((req, _res, next) => {
      if (!req.is('application/xml')) return next();
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        (req as { rawBody?: Buffer }).rawBody = Buffer.concat(chunks);
        next();
      });
    });
    app.use(gateway(proxy({ url: upstream.url }), scrub));
    const gw = await start(app);
    const json = await send(`${gw.url}/token`, { method: 'POST', body: '{"client_id":"a","client_secret":"s3cret"}', headers: { 'Content-Type': 'application/json' } });
    expect(JSON.parse(json.json<Echo>().body)).toEqual({ client_id: 'a' });
    const xml = '<order id="1">  <item/></order>';
    const raw = await send(`${gw.url}/xml`, { method: 'POST', body: xml, headers: { 'Content-Type': 'application/xml' } });
    expect(raw.json<Echo>().body).toBe(xml);
  });

  it('answers 500 instead of hanging when a body was consumed and cannot be rebuilt', async () => {
    const app = express();
    // Reads the stream and keeps nothing, as a misconfigured multipart parser would.
    app.use((req, _res, next) => {
      req.resume();
      req.on('end', () => next());
    });
    app.use(gateway(proxy({ url: upstream.url })));
    const gw = await start(app);
    const res = await send(`${gw.url}/upload`, { method: 'POST', body: 'abc', headers: { 'Content-Type': 'multipart/form-data; boundary=x' } });
    expect(res.status).toBe(500);
    expect(res.json()).toEqual({ message: 'An unexpected error occurred' });
    expect(logged.join('\n')).toMatch(/read by a body parser before upstreamProxy.*mount the gateway before the body parser/);
  });

  it('forwards the Authorization an earlier plugin put in the context', async () => {
    const swap = definePlugin({
      name: 'swap-token',
      priority: 1050,
      access(ctx) {
        ctx.request.setHeader('authorization', 'Bearer x');
      },
    });
    const app = express();
    app.use(gateway(proxy({ url: upstream.url }), swap));
    const gw = await start(app);
    const res = await send(`${gw.url}/me`, { headers: { Authorization: 'Basic Y2xpZW50OnNlY3JldA==' } });
    expect(res.json<Echo>().headers.authorization).toBe('Bearer x');
  });

  it('runs headerFilter and log of the other plugins on the proxied response and on proxy errors', async () => {
    const seen: string[] = [];
    const recorder = definePlugin({
      name: 'recorder',
      priority: 100,
      headerFilter(ctx) {
        seen.push(`header:${ctx.response.status}`);
        ctx.response.setHeader('X-Recorded', String(ctx.response.status));
      },
      log(ctx) {
        seen.push(`log:${ctx.response.status}`);
      },
    });
    const app = express();
    app.use('/ok', gateway(recorder, proxy({ url: upstream.url })));
    app.use('/down', gateway(recorder, proxy({ url: 'http://127.0.0.1:1', retries: 0 })));
    const gw = await start(app);
    const ok = await send(`${gw.url}/ok/x`);
    expect(ok.headers['x-recorded']).toBe('200');
    const down = await send(`${gw.url}/down/x`);
    expect(down.status).toBe(502);
    expect(down.headers['x-recorded']).toBe('502');
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toEqual(['header:200', 'log:200', 'header:502', 'log:502']);
  });
});

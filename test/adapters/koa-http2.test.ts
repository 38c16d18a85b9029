/**
 * Koa on node:http2 (`createSecureServer`, with and without `allowHTTP1`) runs the walkthrough's
 * plugins as it does on HTTP/1: rate-limit headers and 429, cache Miss then Hit, the upstream path
 * with the mount stripped, and no HTTP/2 pseudo-header sent upstream.
 */
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Koa from 'koa';
import mount from 'koa-mount';
import { proxyCache, rateLimit, upstreamProxy, type UpstreamProxyPlugin } from 'tollgate';
import { gateway } from 'tollgate/koa';
import { createEchoUpstream, type EchoResponse, type EchoUpstream } from 'tollgate/testing';
import { testClock } from '../plugins/rate-limit/support';

const tls = {
  key: readFileSync(join(__dirname, '../support/tls/localhost-key.pem')),
  cert: readFileSync(join(__dirname, '../support/tls/localhost-cert.pem')),
};

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP/2 request on a session. */
function h2(session: http2.ClientHttp2Session, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path, ...headers });
    let head: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => (head = h));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve({ status: Number(head[':status']), headers: head, body: Buffer.concat(chunks).toString('utf8') }));
    stream.on('error', reject);
    stream.end(body);
  });
}

/** One HTTP/1.1 request over TLS. */
function h1(port: number, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path, ca: tls.cert, servername: 'localhost' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
  });
}

describe.each([
  ['createSecureServer', false],
  ['createSecureServer with allowHTTP1', true],
])('the Koa gateway on node:http2 %s', (_name, allowHTTP1) => {
  let upstream: EchoUpstream;
  let proxy: UpstreamProxyPlugin;
  let server: http2.Http2SecureServer;
  let session: http2.ClientHttp2Session;
  let port: number;

  beforeAll(async () => {
    upstream = await createEchoUpstream();
    proxy = upstreamProxy({ url: `${upstream.url}/anything/v1` });
    const app = new Koa();
    app.use(mount('/api', gateway(rateLimit({ minute: allowHTTP1 ? 5 : 4, limitBy: 'ip', now: testClock() }), proxyCache({ strategy: 'memory', cacheTtl: 30 }), proxy)));
    server = http2.createSecureServer({ ...tls, allowHTTP1 }, app.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    session = http2.connect(`https://localhost:${port}`, { ca: tls.cert });
  });

  afterAll(async () => {
    session.close();
    proxy.close();
    await new Promise((r) => server.close(r));
    await upstream.close();
  });

  it('proxies with the prefix stripped and no pseudo-header upstream, then answers from the cache', async () => {
    const miss = await h2(session, '/api/get?x=1');
    expect(miss.status).toBe(200);
    expect(miss.headers['x-cache-status']).toBe('Miss');
    expect(miss.headers['x-ratelimit-remaining-minute']).toBeDefined();
    const echo = JSON.parse(miss.body) as EchoResponse;
    expect(echo.url).toBe('/anything/v1/get?x=1');
    expect(Object.keys(echo.headers).filter((h) => h.startsWith(':'))).toEqual([]);
    expect(echo.headers.host).toBe(new URL(upstream.url).host);
    expect(echo.headers['x-forwarded-host']).toBe(`localhost:${port}`);
    expect(echo.headers['x-forwarded-prefix']).toBe('/api');

    const hit = await h2(session, '/api/get?x=1');
    expect(hit.status).toBe(200);
    expect(hit.headers['x-cache-status']).toBe('Hit');
    expect(hit.headers.age).toBe('0');
    expect(hit.body).toBe(miss.body);
    expect(Number(hit.headers['x-ratelimit-remaining-minute'])).toBe(Number(miss.headers['x-ratelimit-remaining-minute']) - 1);
    expect(upstream.requests).toBe(1);
  });

  it('streams a request body of unknown length upstream (HTTP/2 sends no Content-Length)', async () => {
    const posted = await h2(session, '/api/anything/post', { ':method': 'POST', 'content-type': 'text/plain' }, 'hello over h2');
    expect(posted.status).toBe(200);
    const echo = JSON.parse(posted.body) as EchoResponse;
    expect(echo.method).toBe('POST');
    expect(echo.data).toBe('hello over h2');
  });

  it('counts every request and refuses over the limit with JSON and Retry-After', async () => {
    const answers: Answer[] = [];
    for (let i = 0; i < 6; i++) answers.push(i % 2 === 0 || !allowHTTP1 ? await h2(session, `/api/get?n=${i}`) : await h1(port, `/api/get?n=${i}`));
    const statuses = answers.map((a) => a.status);
    // Three requests went to the tests above; the rest of the minute's budget is spent here.
    const limit = allowHTTP1 ? 5 : 4;
    expect(statuses).toEqual([...Array<number>(limit - 3).fill(200), ...Array<number>(6 - (limit - 3)).fill(429)]);
    const refused = answers.at(-1)!;
    expect(JSON.parse(refused.body)).toEqual({ message: 'API rate limit exceeded' });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(refused.headers['x-ratelimit-remaining-minute']).toBe('0');
  });
});

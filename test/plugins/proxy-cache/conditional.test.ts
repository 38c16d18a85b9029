/**
 * Conditional requests answered from the cache (RFC 9110 §13, RFC 9111 §4.3.2): a hit whose
 * validators match answers 304 with the headers RFC 9110 §15.4.5 lists, and no body.
 */
import http, { type Server } from 'node:http';
import express from 'express';
import request from 'supertest';
import { proxyCache, type ProxyCacheOptions } from 'tollgate';
import { gateway } from 'tollgate/express';
import { parseHttpDate } from '../../../src/plugins/proxy-cache/conditional';

const servers: Server[] = [];
afterAll(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))));

const LAST_MODIFIED = 'Tue, 01 Dec 2026 10:00:00 GMT';
const BODY = JSON.stringify({ hello: 'world' });

/**
 * Routes with fixed validators, counting how often they ran. They write with Node's own
 * `res.end`, which (unlike Express's `res.send`) never answers a precondition itself.
 */
async function setup(options: ProxyCacheOptions = {}) {
  let calls = 0;
  const app = express();
  app.use(gateway(proxyCache({ requestMethod: ['GET', 'HEAD'], ...options })));
  app.get('/strong', (_req, res) => {
    calls++;
    res.set({
      ETag: '"v1"',
      'Last-Modified': LAST_MODIFIED,
      'Cache-Control': 'public, max-age=60',
      Expires: 'Tue, 01 Dec 2026 11:00:00 GMT',
      Vary: 'Accept-Encoding',
      'Content-Location': '/strong.json',
      'Content-Language': 'en',
      'X-Custom': 'representation metadata',
    });
    res.type('application/json').end(BODY);
  });
  app.get('/weak', (_req, res) => {
    calls++;
    res.set('ETag', 'W/"w1"').type('application/json').end(BODY);
  });
  app.get('/dated', (_req, res) => {
    calls++;
    res.set('Last-Modified', LAST_MODIFIED).type('application/json').end(BODY);
  });
  app.get('/plain', (_req, res) => {
    calls++;
    res.type('application/json').end(BODY);
  });
  app.get('/missing', (_req, res) => {
    calls++;
    res.status(404).set('ETag', '"gone"').type('application/json').end('{"message":"Not found"}');
  });
  const server = http.createServer(app).listen(0, '127.0.0.1');
  servers.push(server);
  await new Promise((r) => server.once('listening', r));
  return { server, calls: () => calls };
}

describe('proxyCache conditional requests', () => {
  it('answers a hit whose ETag matches If-None-Match with 304 and the headers a 304 carries', async () => {
    const { server, calls } = await setup();
    const miss = await request(server).get('/strong');
    expect(miss.headers['x-cache-status']).toBe('Miss');
    const res = await request(server).get('/strong').set('If-None-Match', '"v1"');
    expect(res.status).toBe(304);
    expect(res.text ?? '').toBe('');
    expect(calls()).toBe(1);
    expect(res.headers).toMatchObject({
      etag: '"v1"',
      'cache-control': 'public, max-age=60',
      expires: 'Tue, 01 Dec 2026 11:00:00 GMT',
      vary: 'Accept-Encoding',
      'content-location': '/strong.json',
      'x-cache-status': 'Hit',
      age: expect.stringMatching(/^\d+$/),
      date: expect.any(String),
    });
    // Representation metadata stays out; Last-Modified too, as the ETag is there to validate by.
    expect(res.headers['content-language']).toBeUndefined();
    expect(res.headers['x-custom']).toBeUndefined();
    expect(res.headers['last-modified']).toBeUndefined();
    // If sent at all, Content-Length is the 200's (RFC 9110 §8.6).
    if (res.headers['content-length'] !== undefined) expect(res.headers['content-length']).toBe(String(BODY.length));
  });

  it.each([
    ['the same strong tag', '/strong', '"v1"', 304],
    ['the weak form of a strong tag', '/strong', 'W/"v1"', 304],
    ['the strong form of a weak tag', '/weak', '"w1"', 304],
    ['the weak tag itself', '/weak', 'W/"w1"', 304],
    ['a list holding the tag', '/strong', '"other", W/"v1" ,"x"', 304],
    ['a tag holding a comma, then ours', '/strong', '"a,b", "v1"', 304],
    ['*', '/strong', '*', 304],
    ['another tag', '/strong', '"v2"', 200],
    ['an unquoted tag', '/strong', 'v1', 200],
    ['a tag that only starts like ours', '/strong', '"v1x"', 200],
    ['a tag when the response has none', '/plain', '"v1"', 200],
  ])('compares If-None-Match weakly: %s (%s, If-None-Match: %s) answers %d', async (_name, path, ifNoneMatch, status) => {
    const { server } = await setup();
    await request(server).get(path);
    const res = await request(server).get(path).set('If-None-Match', ifNoneMatch);
    expect(res.headers['x-cache-status']).toBe('Hit');
    expect(res.status).toBe(status);
    if (status === 200) expect(res.text).toBe(BODY);
  });

  it('lets If-None-Match decide alone when both are sent', async () => {
    const { server } = await setup();
    await request(server).get('/strong');
    const res = await request(server).get('/strong').set('If-None-Match', '"v2"').set('If-Modified-Since', 'Wed, 01 Dec 2100 10:00:00 GMT');
    expect(res.status).toBe(200);
    expect(res.text).toBe(BODY);
  });

  it.each([
    ['the Last-Modified date itself', LAST_MODIFIED, 304],
    ['a later date', 'Wed, 02 Dec 2026 10:00:00 GMT', 304],
    ['the RFC 850 form of a later date', 'Wednesday, 02-Dec-26 10:00:00 GMT', 304],
    ['the asctime form of a later date', 'Wed Dec  2 10:00:00 2026', 304],
    ['an earlier date', 'Mon, 30 Nov 2026 10:00:00 GMT', 200],
    ['a date that is not an HTTP-date', '2030-01-01T00:00:00Z', 200],
    ['two dates', `${LAST_MODIFIED}, ${LAST_MODIFIED}`, 200],
  ])('answers If-Modified-Since with %s (%s): %d', async (_name, since, status) => {
    const { server } = await setup();
    await request(server).get('/dated');
    const res = await request(server).get('/dated').set('If-Modified-Since', since);
    expect(res.status).toBe(status);
    if (status === 304) expect(res.headers['last-modified']).toBe(LAST_MODIFIED);
  });

  it('without Last-Modified, compares If-Modified-Since with the time the response was stored', async () => {
    const { server } = await setup();
    await request(server).get('/plain');
    const later = new Date(Date.now() + 60_000).toUTCString();
    const earlier = new Date(Date.now() - 60_000).toUTCString();
    expect((await request(server).get('/plain').set('If-Modified-Since', later)).status).toBe(304);
    expect((await request(server).get('/plain').set('If-Modified-Since', earlier)).status).toBe(200);
  });

  it('answers a HEAD with 304 too, but never turns a stored 404 into a 304', async () => {
    const { server } = await setup();
    await request(server).get('/strong');
    // Same Accept-Encoding as the GET (the response varies on it; supertest sends none with HEAD).
    const head = await request(server).head('/strong').set('If-None-Match', '"v1"').set('Accept-Encoding', 'gzip, deflate');
    expect([head.status, head.headers['x-cache-status']]).toEqual([304, 'Hit']);
    await request(server).get('/missing');
    const missing = await request(server).get('/missing').set('If-None-Match', '*');
    expect([missing.status, missing.headers['x-cache-status']]).toEqual([404, 'Hit']);
  });

  it('leaves a miss to the handler, and stores its full answer', async () => {
    const { server, calls } = await setup();
    const first = await request(server).get('/strong').set('If-None-Match', '"v1"');
    // The route does not evaluate preconditions: a full 200, stored.
    expect([first.status, first.headers['x-cache-status']]).toEqual([200, 'Miss']);
    expect((await request(server).get('/strong').set('If-None-Match', '"v1"')).status).toBe(304);
    expect(calls()).toBe(1);
  });
});

describe('parseHttpDate', () => {
  it('reads the three HTTP-date forms and nothing else', () => {
    const t = Date.UTC(1994, 10, 6, 8, 49, 37);
    expect(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT')).toBe(t);
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', Date.UTC(2026, 0, 1))).toBe(t);
    expect(parseHttpDate('Sun Nov  6 08:49:37 1994')).toBe(t);
    for (const bad of ['Sun, 31 Feb 1994 08:49:37 GMT', 'Sun, 06 Nov 1994 08:49:37 PST', '784111777', 'yesterday', '']) {
      expect([bad, parseHttpDate(bad)]).toEqual([bad, undefined]);
    }
  });
});


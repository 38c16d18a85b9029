import http, { type Server } from 'node:http';
import express from 'express';
import request from 'supertest';
import { proxyCache, type ProxyCacheOptions } from 'tollgate';
import { gateway } from 'tollgate/express';
import { authStub, sleep } from './support';

const servers: Server[] = [];
afterAll(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))));

/** `GET /cc?cc=<Cache-Control>&age=<Age>&expires=<seconds>` answers with those headers. */
function setup(options: ProxyCacheOptions = {}) {
  let calls = 0;
  const app = express();
  app.use(gateway(authStub, proxyCache({ cacheControl: true, ...options })));
  app.get('/cc', (req, res) => {
    calls++;
    if (typeof req.query.cc === 'string') res.set('Cache-Control', req.query.cc);
    if (typeof req.query.age === 'string') res.set('Age', req.query.age);
    if (typeof req.query.expires === 'string') res.set('Expires', new Date(Date.now() + Number(req.query.expires) * 1000).toUTCString());
    res.json({ calls });
  });
  app.get('/lines', (_req, res) => {
    calls++;
    // Two Cache-Control field lines, which combine into one list (RFC 9110 §5.3).
    res.setHeader('Cache-Control', ['public, max-age=60', 'no-store']);
    res.json({ calls });
  });
  const server = http.createServer(app).listen(0, '127.0.0.1');
  servers.push(server);
  return { server, calls: () => calls };
}

const status = async (server: Server, url: string, headers: Record<string, string> = {}) =>
  (await request(server).get(url).set(headers)).headers['x-cache-status'] as string;

describe('proxyCache with cacheControl', () => {
  it('stores only responses with explicit freshness and without private, no-store or no-cache', async () => {
    const { server } = setup();
    const cases: [string, string][] = [
      ['/cc?cc=max-age%3D60', 'Hit'],
      ['/cc?cc=public%2C%20max-age%3D60', 'Hit'],
      ['/cc?cc=s-maxage%3D60%2C%20max-age%3D0', 'Hit'],
      ['/cc?expires=60', 'Hit'],
      ['/cc', 'Bypass'],
      ['/cc?cc=max-age%3D0', 'Bypass'],
      ['/cc?cc=private%2C%20max-age%3D60', 'Bypass'],
      ['/cc?cc=no-store%2C%20max-age%3D60', 'Bypass'],
      ['/cc?cc=no-cache%2C%20max-age%3D60', 'Bypass'],
      ['/cc?cc=max-age%3D60&age=90', 'Bypass'],
    ];
    for (const [url, second] of cases) {
      await request(server).get(url);
      expect([url, await status(server, url)]).toEqual([url, second]);
    }
  });

  it('serves fresh must-revalidate and proxy-revalidate responses (http-cache-semantics 4.3.0 would not)', async () => {
    const { server, calls } = setup();
    await request(server).get('/cc?cc=max-age%3D60%2C%20must-revalidate');
    expect(await status(server, '/cc?cc=max-age%3D60%2C%20must-revalidate')).toBe('Hit');
    await request(server).get('/cc?cc=max-age%3D60%2C%20proxy-revalidate');
    expect(await status(server, '/cc?cc=max-age%3D60%2C%20proxy-revalidate')).toBe('Hit');
    expect(calls()).toBe(2);
  });

  it("counts the upstream's Age in the entry's age", async () => {
    const { server } = setup();
    await request(server).get('/cc?cc=max-age%3D60&age=30');
    const hit = await request(server).get('/cc?cc=max-age%3D60&age=30');
    expect(hit.headers['x-cache-status']).toBe('Hit');
    expect(Number(hit.headers.age)).toBeGreaterThanOrEqual(30);
  });

  it("honours the request's no-cache, no-store, max-age, min-fresh and only-if-cached", async () => {
    const { server, calls } = setup();
    const url = '/cc?cc=max-age%3D60';
    expect(await status(server, url, { 'Cache-Control': 'only-if-cached' })).toBe('Miss');
    const gateway504 = await request(server).get(url).set('Cache-Control', 'only-if-cached');
    expect(gateway504.status).toBe(504);
    expect(calls()).toBe(0);

    await request(server).get(url);
    await sleep(5);
    expect(await status(server, url)).toBe('Hit');
    expect(await status(server, url, { 'Cache-Control': 'only-if-cached' })).toBe('Hit');
    expect(await status(server, url, { 'Cache-Control': 'no-cache' })).toBe('Bypass');
    expect(await status(server, url, { Pragma: 'no-cache' })).toBe('Bypass');
    expect(await status(server, url, { 'Cache-Control': 'no-store' })).toBe('Bypass');
    expect(await status(server, url, { 'Cache-Control': 'max-age=0' })).toBe('Refresh');
    expect(await status(server, url, { 'Cache-Control': 'max-age=30' })).toBe('Hit');
    expect(await status(server, url, { 'Cache-Control': 'min-fresh=120' })).toBe('Refresh');
    expect(await status(server, url, { 'Cache-Control': 'min-fresh=10' })).toBe('Hit');
    expect(calls()).toBe(6);
  });

  it('expires entries with their max-age, and serves stale ones only within max-stale and without must-revalidate', async () => {
    const plain = setup();
    const kept = setup({ storageTtl: 30 });
    await request(plain.server).get('/cc?cc=max-age%3D1');
    await request(kept.server).get('/cc?cc=max-age%3D1');
    await request(kept.server).get('/cc?cc=max-age%3D1%2C%20must-revalidate');
    await sleep(1100);
    expect(await status(plain.server, '/cc?cc=max-age%3D1', { 'Cache-Control': 'max-stale=60' })).toBe('Miss');
    expect(await status(kept.server, '/cc?cc=max-age%3D1', { 'Cache-Control': 'max-stale=60' })).toBe('Hit');
    expect(await status(kept.server, '/cc?cc=max-age%3D1%2C%20must-revalidate', { 'Cache-Control': 'max-stale' })).toBe('Refresh');
    expect(await status(kept.server, '/cc?cc=max-age%3D1')).toBe('Refresh');
  });

  it('caches an authenticated response for its consumer only', async () => {
    const { server, calls } = setup();
    const url = '/cc?cc=max-age%3D60';
    const alice = { 'X-User': 'alice', Authorization: 'Bearer alice-token' };
    await request(server).get(url).set(alice);
    expect(await status(server, url, alice)).toBe('Hit');
    expect(await status(server, url, { 'X-User': 'bob', Authorization: 'Bearer bob-token' })).toBe('Miss');
    expect(calls()).toBe(2);
  });

  it('ignores Cache-Control when off, as Kong does', async () => {
    const { server } = setup({ cacheControl: false });
    await request(server).get('/cc?cc=no-cache');
    expect(await status(server, '/cc?cc=no-cache', { 'Cache-Control': 'no-cache' })).toBe('Hit');
  });
});

describe('proxyCache without cacheControl (Kong\'s default)', () => {
  it('still never stores what the origin marked no-store or private, in any spelling', async () => {
    const { server, calls } = setup({ cacheControl: false });
    const privacy = ['no-store', 'private', 'Private', 'NO-STORE', 'public, max-age=60, no-store', 'max-age=60,private', 'private="set-cookie"', ' no-cache , no-store '];
    for (const cc of privacy) {
      const url = `/cc?cc=${encodeURIComponent(cc)}`;
      const before = calls();
      expect([cc, await status(server, url), await status(server, url)]).toEqual([cc, 'Bypass', 'Bypass']);
      expect(calls() - before).toBe(2);
    }
    expect([await status(server, '/lines'), await status(server, '/lines')]).toEqual(['Bypass', 'Bypass']);
  });

  it('keeps Kong\'s freshness rules otherwise: cacheTtl decides, whatever max-age or no-cache say', async () => {
    const { server } = setup({ cacheControl: false });
    for (const cc of ['max-age=0', 'no-cache', 'public']) {
      const url = `/cc?cc=${encodeURIComponent(cc)}`;
      expect([cc, await status(server, url), await status(server, url)]).toEqual([cc, 'Miss', 'Hit']);
    }
    expect([await status(server, '/cc'), await status(server, '/cc')]).toEqual(['Miss', 'Hit']);
  });
});

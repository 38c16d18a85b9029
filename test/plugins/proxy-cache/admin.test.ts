import http, { type Server } from 'node:http';
import Koa from 'koa';
import mount from 'koa-mount';
import request from 'supertest';
import { ConfigError, definePlugin, proxyCache, proxyCacheAdmin, UnauthorizedError } from 'tollgate';
import { gateway } from 'tollgate/express';
import { gateway as koaGateway } from 'tollgate/koa';
import { expressApp } from './support';

const servers: Server[] = [];
afterAll(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))));
const listen = (app: http.RequestListener) => {
  const server = http.createServer(app).listen(0, '127.0.0.1');
  servers.push(server);
  return server;
};

/** The app's own admin auth, as a plugin in the admin gateway. */
const adminAuth = definePlugin({
  name: 'admin-auth',
  priority: 1000,
  access(ctx) {
    if (ctx.request.header('x-admin') !== 'yes') throw new UnauthorizedError();
  },
});

describe('proxyCacheAdmin', () => {
  it("purges by key and purges all through Kong's DELETE routes, behind the app's auth (Express)", async () => {
    const cache = proxyCache();
    const other = proxyCache();
    const { app, calls } = expressApp(cache);
    app.use('/admin', gateway(adminAuth, proxyCacheAdmin([cache, other])));
    app.get('/admin/other', (_req, res) => {
      res.json({ passed: true });
    });
    const server = listen(app);
    const key = (await request(server).get('/json')).headers['x-cache-key'] as string;
    await request(server).get('/text');

    expect((await request(server).delete(`/admin/proxy-cache/${key}`)).status).toBe(401);
    expect((await request(server).get('/json')).headers['x-cache-status']).toBe('Hit');

    const purged = await request(server).delete(`/admin/proxy-cache/${key}`).set('X-Admin', 'yes');
    expect(purged.status).toBe(204);
    expect((await request(server).get('/json')).headers['x-cache-status']).toBe('Miss');
    const gone = await request(server).delete(`/admin/proxy-cache/${'0'.repeat(64)}`).set('X-Admin', 'yes');
    expect(gone.status).toBe(404);
    expect(gone.body).toEqual({ message: 'Not found' });
    const bad = await request(server).delete('/admin/proxy-cache/nothex').set('X-Admin', 'yes');
    expect(bad.status).toBe(400);
    const wrongMethod = await request(server).get('/admin/proxy-cache').set('X-Admin', 'yes');
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.allow).toBe('DELETE');

    expect((await request(server).delete('/admin/proxy-cache').set('X-Admin', 'yes')).status).toBe(204);
    expect((await request(server).get('/text')).headers['x-cache-status']).toBe('Miss');
    expect(calls).toMatchObject({ json: 2, text: 2 });

    const passThrough = await request(server).get('/admin/other').set('X-Admin', 'yes');
    expect(passThrough.body).toEqual({ passed: true });
  });

  it('works mounted in Koa under its own path', async () => {
    const cache = proxyCache();
    let n = 0;
    const app = new Koa();
    app.use(mount('/ops', koaGateway(adminAuth, proxyCacheAdmin(cache, { path: '/cache' }))));
    app.use(koaGateway(cache));
    app.use((ctx) => {
      ctx.body = { n: ++n };
    });
    const server = listen(app.callback());
    const key = (await request(server).get('/thing')).headers['x-cache-key'] as string;
    expect((await request(server).get('/thing')).headers['x-cache-status']).toBe('Hit');
    expect((await request(server).delete(`/ops/cache/${key}`).set('X-Admin', 'yes')).status).toBe(204);
    expect((await request(server).get('/thing')).body).toEqual({ n: 2 });
  });

  it('rejects what is not a cache, and bad paths', () => {
    expect(() => proxyCacheAdmin([])).toThrow(ConfigError);
    expect(() => proxyCacheAdmin({} as never)).toThrow('proxyCacheAdmin: "caches" must be one or more proxyCache() instances');
    expect(() => proxyCacheAdmin(proxyCache(), { path: 'cache/' })).toThrow('proxyCacheAdmin: "path" must start with "/"');
  });
});

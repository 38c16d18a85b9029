/**
 * Kong's route priority and matching, through Express: routes without a service hand the request
 * to the app, which reports the route that matched (`ctx.request.route`) and the stripped path.
 */
import express from 'express';
import http from 'node:http';
import request from 'supertest';
import { getContext } from 'tollgate/express';
import { fromKong } from 'tollgate/kong';

function appFor(routes: string, mount?: string) {
  const kong = fromKong(`_format_version: "3.0"\nroutes:\n${routes}`);
  const app = express();
  if (mount) app.use(mount, kong.express());
  else app.use(kong.express());
  app.use((req, res) => {
    let ctx;
    try {
      ctx = getContext(req);
    } catch {
      return void res.status(418).json({ route: 'outside the gateway' });
    }
    res.json({ route: ctx.request.route, path: ctx.request.path, mountPath: ctx.request.mountPath });
  });
  return app;
}

const routeOf = async (app: express.Express, path: string, set: Record<string, string> = {}, method = 'get') => {
  let r = request(app)[method as 'get'](path);
  for (const [k, v] of Object.entries(set)) r = r.set(k, v);
  const res = await r;
  return res.status === 404 ? 404 : (res.body as { route: string }).route;
};

describe('fromKong routing', () => {
  it('prefers the longest matching prefix, whatever the order of the routes', async () => {
    const app = appFor(`
  - { name: short, paths: [/api] }
  - { name: long, paths: [/api/orders] }
  - { name: root, paths: [/] }`);
    expect(await routeOf(app, '/api/orders/7')).toBe('long');
    expect(await routeOf(app, '/api/users')).toBe('short');
    expect(await routeOf(app, '/other')).toBe('root');
  });

  it('tries regex paths before prefixes, in regex_priority order', async () => {
    const app = appFor(`
  - { name: prefix, paths: [/status/200/and/more/still] }
  - { name: any-status, paths: ["~/status/\\\\d+"], regex_priority: 1 }
  - { name: ok-status, paths: ["~/status/200$"], regex_priority: 5 }
  - { name: low, paths: ["~/status/2\\\\d\\\\d"] }`);
    expect(await routeOf(app, '/status/200')).toBe('ok-status');
    expect(await routeOf(app, '/status/201')).toBe('any-status');
    // A regex route outranks even a longer prefix route.
    expect(await routeOf(app, '/status/200/and/more/still')).toBe('any-status');
  });

  it('ranks a route that sets more of methods, hosts, headers and paths first', async () => {
    const app = appFor(`
  - { name: path-only, paths: [/api/orders/long/path] }
  - { name: path-and-method, paths: [/api], methods: [POST] }
  - { name: host-and-path, paths: [/api], hosts: [shop.example.com] }
  - { name: wildcard-host, paths: [/api], hosts: ["*.example.com"] }
  - { name: header, paths: [/api], headers: { x-version: ["v2"] } }`);
    expect(await routeOf(app, '/api/orders/long/path')).toBe('path-only');
    expect(await routeOf(app, '/api/orders/long/path', {}, 'post')).toBe('path-and-method');
    // Both host routes set two fields; the one with no wildcard comes first.
    expect(await routeOf(app, '/api/orders/long/path', { host: 'shop.example.com' })).toBe('host-and-path');
    expect(await routeOf(app, '/api/x', { host: 'admin.example.com' })).toBe('wildcard-host');
    expect(await routeOf(app, '/api/x', { 'x-version': 'V2' })).toBe('header');
    expect(await routeOf(app, '/api/x')).toBe(404);
  });

  it("matches Kong's host forms: exact, *.suffix, prefix.* and host:port", async () => {
    const app = appFor(`
  - { name: suffix, hosts: ["*.example.com"] }
  - { name: prefix, hosts: ["internal.*"] }
  - { name: port, hosts: ["api.test:8443"] }`);
    expect(await routeOf(app, '/', { host: 'a.example.com' })).toBe('suffix');
    expect(await routeOf(app, '/', { host: 'internal.corp:8080' })).toBe('prefix');
    expect(await routeOf(app, '/', { host: 'api.test:8443' })).toBe('port');
    expect(await routeOf(app, '/', { host: 'api.test:9000' })).toBe(404);
    expect(await routeOf(app, '/', { host: 'example.com' })).toBe(404);
  });

  it('matches a header by value or ~* regex, case-insensitively', async () => {
    const app = appFor(`
  - { name: beta, headers: { x-channel: ["beta", "~*^canary-\\\\d+$"] } }`);
    expect(await routeOf(app, '/', { 'x-channel': 'Beta' })).toBe('beta');
    expect(await routeOf(app, '/', { 'x-channel': 'CANARY-12' })).toBe('beta');
    expect(await routeOf(app, '/', { 'x-channel': 'stable' })).toBe(404);
  });

  it('matches methods exactly and answers 404 for others', async () => {
    const app = appFor(`
  - { name: read, paths: [/api], methods: [GET, HEAD] }`);
    expect(await routeOf(app, '/api')).toBe('read');
    expect(await routeOf(app, '/api', {}, 'delete')).toBe(404);
  });

  it('matches a prefix as a string, as Kong does: /api also matches /apis, stripped to /s', async () => {
    const app = appFor(`
  - { name: api, paths: [/api] }`);
    const res = await request(app).get('/apis');
    expect(res.body).toEqual({ route: 'api', path: '/s', mountPath: '/api' });
  });

  it('matches the normalised path, so dot segments cannot reach a route the client should not', async () => {
    const app = appFor(`
  - { name: public, paths: [/public] }`);
    expect(await routeOf(app, '/public/../admin')).toBe(404);
    expect(await routeOf(app, '/public/%2e/x')).toBe('public');
  });

  it('breaks an exact tie by the order of the file', async () => {
    const app = appFor(`
  - { name: first, paths: [/same] }
  - { name: second, paths: [/same] }`);
    expect(await routeOf(app, '/same')).toBe('first');
  });

  it('matches routes relative to where the middleware is mounted', async () => {
    const app = appFor(`
  - { name: orders, paths: [/orders] }`, '/v1');
    const res = await request(app).get('/v1/orders/7');
    expect(res.body).toEqual({ route: 'orders', path: '/7', mountPath: '/v1/orders' });
    // Outside the mount the gateway never sees the request.
    expect(await routeOf(app, '/orders/7')).toBe('outside the gateway');
  });

  it("answers Kong's 426 for plain http on an HTTPS-only route, or its redirect", async () => {
    const app = appFor(`
  - { name: secure, paths: [/secure], protocols: [https] }
  - { name: moved, paths: [/moved], protocols: [https], https_redirect_status_code: 301 }`);
    const upgrade = await request(app).get('/secure');
    expect(upgrade.status).toBe(426);
    expect(upgrade.body).toEqual({ message: 'Please use HTTPS protocol' });
    const moved = await request(app).get('/moved/x?y=1').set('host', 'shop.example.com:8080');
    expect(moved.status).toBe(301);
    expect(moved.headers.location).toBe('https://shop.example.com/moved/x?y=1');
  });

  it("honours the framework's trust-proxy setting for the scheme of an HTTPS-only route", async () => {
    const kong = fromKong(`_format_version: "3.0"\nroutes:\n  - { name: secure, paths: [/secure], protocols: [https] }`);
    const app = express();
    app.set('trust proxy', 'loopback');
    app.use(kong.express());
    app.use((_req, res) => res.send('ok'));
    expect((await request(app).get('/secure').set('x-forwarded-proto', 'https')).status).toBe(200);
  });

  it('serves node:http too, with Kong\'s 503 for a route without a service and no next', async () => {
    const kong = fromKong(`_format_version: "3.0"\nroutes:\n  - { name: app-only, paths: [/app] }`);
    const server = http.createServer(kong.node());
    const missing = await request(server).get('/nope');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ message: 'no Route matched with those values' });
    const noService = await request(server).get('/app');
    expect(noService.status).toBe(503);
    expect(noService.body).toEqual({ message: 'no Service found with those values' });
    const handler = kong.node();
    const withNext = http.createServer((req, res) => handler(req, res, () => res.end('app')));
    expect((await request(withNext).get('/app')).text).toBe('app');
  });
});

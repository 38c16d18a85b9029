/**
 * The adapters against the older majors users still run: Express 4 and Koa 2 (installed as
 * `express4` and `koa2` aliases). Express 5 and Koa 3 are covered by the other adapter tests.
 */
import request from 'supertest';
import { definePlugin } from 'tollgate';
import { gateway as expressGateway, getContext } from 'tollgate/express';
import { gateway as koaGateway } from 'tollgate/koa';

// 
const express4 = require('express4') as typeof import('express');
// 
const Koa2 = require('koa2') as typeof import('koa');

const stamp = definePlugin({
  name: 'stamp',
  priority: 1,
  access(ctx) {
    if (ctx.request.header('x-deny')) ctx.exit(401, { message: 'Unauthorized' });
  },
  headerFilter(ctx) {
    ctx.response.setHeader('x-stamp', `${ctx.request.mountPath}|${ctx.request.path}|${ctx.response.status}`);
  },
});

describe('adapters on older framework majors', () => {
  it('works as Express 4 middleware, mounted, with early exit and headerFilter', async () => {
    expect(require('express4/package.json').version).toMatch(/^4\./);
    const app = express4();
    app.use('/api', expressGateway(stamp));
    app.get('/api/items', (req, res) => res.json({ ip: getContext(req).request.ip }));
    const ok = await request(app).get('/api/items');
    expect(ok.status).toBe(200);
    expect(ok.headers['x-stamp']).toBe('/api|/items|200');
    const denied = await request(app).get('/api/items').set('x-deny', '1');
    expect(denied.status).toBe(401);
    expect(denied.body).toEqual({ message: 'Unauthorized' });
    expect(denied.headers['x-stamp']).toBe('/api|/items|401');
  });

  it('works as Koa 2 middleware with early exit and headerFilter', async () => {
    expect(require('koa2/package.json').version).toMatch(/^2\./);
    const app = new Koa2();
    app.use(koaGateway(stamp));
    app.use((ctx) => {
      ctx.body = { ok: true };
    });
    const ok = await request(app.callback()).get('/items');
    expect(ok.body).toEqual({ ok: true });
    expect(ok.headers['x-stamp']).toBe('|/items|200');
    const denied = await request(app.callback()).get('/items').set('x-deny', '1');
    expect(denied.status).toBe(401);
    expect(denied.headers['x-stamp']).toBe('|/items|401');
  });
});

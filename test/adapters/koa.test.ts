import Koa from 'koa';
import mount from 'koa-mount';
import request from 'supertest';
import { Readable } from 'node:stream';
import { definePlugin, ForbiddenError, type RequestContext } from 'tollgate';
import { gateway, getContext } from 'tollgate/koa';

const header = (name: string) =>
  definePlugin({
    name,
    priority: 1,
    headerFilter(ctx) {
      ctx.response.setHeader(`x-${name}`, String(ctx.response.status));
    },
  });

describe('gateway (koa)', () => {
  it('sets a header in headerFilter on a JSON body from a Koa handler', async () => {
    const app = new Koa();
    app.use(gateway(header('seen')));
    app.use((ctx) => {
      ctx.status = 202;
      ctx.body = { ok: true };
    });
    const res = await request(app.callback()).get('/');
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ ok: true });
    expect(res.headers['x-seen']).toBe('202');
  });

  it('sets a header in headerFilter on a streamed body from a Koa handler', async () => {
    const app = new Koa();
    app.use(gateway(header('seen')));
    app.use((ctx) => {
      ctx.type = 'text/plain';
      ctx.body = Readable.from(['x', 'y', 'z']);
    });
    const res = await request(app.callback()).get('/');
    expect(res.text).toBe('xyz');
    expect(res.headers['x-seen']).toBe('200');
  });

  it('shares one context across plugins mounted by separate app.use calls, mounted or not', async () => {
    const seen: RequestContext[] = [];
    const app = new Koa();
    app.use(gateway(definePlugin({ name: 'outer', priority: 5, access: (ctx) => void seen.push(ctx) })));
    app.use(mount('/api', gateway(definePlugin({ name: 'inner', priority: 9, access: (ctx) => void seen.push(ctx) }))));
    app.use((ctx) => {
      seen.push(getContext(ctx));
      ctx.body = { path: getContext(ctx).request.originalPath };
    });
    const res = await request(app.callback()).get('/api/thing?q=1');
    expect(res.body).toEqual({ path: '/api/thing' });
    expect(seen).toHaveLength(3);
    expect(new Set(seen).size).toBe(1);
  });

  it('answers an early exit with the JSON body, the headers and the latency header, skipping the handler', async () => {
    let handled = false;
    const app = new Koa();
    app.use(
      gateway(
        header('first'),
        definePlugin({
          name: 'deny',
          priority: 0,
          access() {
            throw new ForbiddenError('Forbidden', { headers: { 'WWW-Authenticate': 'Bearer error="insufficient_scope"' } });
          },
        }),
      ),
    );
    app.use((ctx) => {
      handled = true;
      ctx.body = 'no';
    });
    const res = await request(app.callback()).get('/');
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ message: 'Forbidden' });
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['www-authenticate']).toBe('Bearer error="insufficient_scope"');
    expect(res.headers['x-first']).toBe('403');
    expect(res.headers['x-tollgate-response-latency']).toMatch(/^\d+$/);
    expect(handled).toBe(false);
  });

  it('streams a body a plugin answers with, through the header phase, without calling the handler', async () => {
    const app = new Koa();
    app.use(
      gateway(
        header('seen'),
        definePlugin({
          name: 'writer',
          priority: 0,
          async access(ctx) {
            await new Promise((r) => setTimeout(r, 10));
            ctx.exit(207, Readable.from(['ra', 'w']), { 'Content-Type': 'text/plain' });
          },
        }),
      ),
    );
    app.use((ctx) => {
      ctx.body = 'handler should not run';
    });
    const res = await request(app.callback()).get('/');
    expect(res.status).toBe(207);
    expect(res.text).toBe('raw');
    expect(res.headers['x-seen']).toBe('207');
  });

  it('honours app.proxy for the client ip and ignores X-Forwarded-For otherwise', async () => {
    const ips: string[] = [];
    const record = definePlugin({ name: 'ip', priority: 1, access: (ctx) => void ips.push(ctx.request.ip) });
    const plain = new Koa();
    plain.use(gateway(record));
    plain.use((ctx) => void (ctx.body = 'ok'));
    const trusting = new Koa({ proxy: true });
    trusting.use(gateway(record));
    trusting.use((ctx) => void (ctx.body = 'ok'));
    await request(plain.callback()).get('/').set('X-Forwarded-For', '6.6.6.6');
    await request(trusting.callback()).get('/').set('X-Forwarded-For', '6.6.6.6');
    expect(ips[0]).not.toBe('6.6.6.6');
    expect(ips[1]).toBe('6.6.6.6');
  });
});

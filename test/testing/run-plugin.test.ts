import { definePlugin } from 'tollgate';
import { createTestContext, runPlugin } from 'tollgate/testing';

describe('createTestContext', () => {
  it('builds the request view from a URL, headers and a mount path', () => {
    const ctx = createTestContext({ method: 'post', url: '/httpbin/anything?b=2&a=1&a=3', mountPath: '/httpbin', headers: { 'X-Tenant': 'acme' }, ip: '10.0.0.7' });
    expect(ctx.request.method).toBe('POST');
    expect(ctx.request.path).toBe('/anything');
    expect(ctx.request.originalPath).toBe('/httpbin/anything');
    expect(ctx.request.mountPath).toBe('/httpbin');
    expect(ctx.request.search).toBe('b=2&a=1&a=3');
    expect(ctx.request.query).toEqual({ b: '2', a: ['1', '3'] });
    expect(ctx.request.header('x-tenant')).toBe('acme');
    expect(ctx.request.ip).toBe('10.0.0.7');
    expect(ctx.raw).toBeUndefined();
  });

  it('takes a consumer, a credential and shared state', () => {
    const ctx = createTestContext({ consumer: { id: 'client-1' }, credential: { id: 'jti-1', type: 'bearer' } });
    expect(ctx.consumer).toEqual({ id: 'client-1' });
    expect(ctx.credential?.type).toBe('bearer');
  });
});

describe('runPlugin', () => {
  const tag = definePlugin({
    name: 'tag',
    priority: 1,
    access(ctx) {
      if (ctx.request.header('authorization') === undefined) ctx.exit(401, { message: 'Unauthorized' }, { 'WWW-Authenticate': 'Bearer realm="test"' });
    },
    headerFilter(ctx) {
      ctx.response.setHeader('x-status-seen', String(ctx.response.status));
    },
    bodyFilter(_ctx, chunk) {
      return Buffer.from(chunk.toString().replace('secret', '******'));
    },
  });

  it('returns an early exit with its status, headers and parsed JSON body, after headerFilter', async () => {
    const result = await runPlugin(tag, createTestContext());
    expect(result.exited).toBe(true);
    expect(result.status).toBe(401);
    expect(result.body).toEqual({ message: 'Unauthorized' });
    expect(result.headers['www-authenticate']).toBe('Bearer realm="test"');
    expect(result.headers['x-status-seen']).toBe('401');
  });

  it('passes the handler response through headerFilter and bodyFilter', async () => {
    const ctx = createTestContext({ headers: { authorization: 'Bearer x' } });
    const result = await runPlugin(tag, ctx, { status: 201, headers: { 'content-type': 'text/plain' }, body: 'a secret' });
    expect(result.exited).toBe(false);
    expect(result.status).toBe(201);
    expect(result.body).toBe('a ******');
    expect(result.headers['x-status-seen']).toBe('201');
  });

  it('runs log hooks before it resolves', async () => {
    const logged: number[] = [];
    const log = definePlugin({ name: 'log', priority: 1, log: (ctx) => void logged.push(ctx.response.status) });
    await runPlugin(log, createTestContext(), { status: 204 });
    expect(logged).toEqual([204]);
  });
});

import express from 'express';
import request from 'supertest';
import { definePlugin, perConsumer, proxyCache, rateLimit, type AnyPlugin } from 'tollgate';
import { gateway } from 'tollgate/express';
import { createTestContext, runPlugin } from 'tollgate/testing';
import { configError } from '../../support/config-error';

/** An auth plugin that takes the consumer from a header: enough to drive the dispatcher. */
const headerAuth = definePlugin({
  name: 'header-auth',
  priority: 1050,
  access(ctx) {
    const id = ctx.request.header('x-consumer');
    if (id) ctx.consumer = { id };
  },
});

describe('perConsumer', () => {
  it("runs the consumer's own instance for that consumer and the default one for everyone else", async () => {
    const limit = perConsumer({ default: rateLimit({ minute: 1 }), consumers: { gold: rateLimit({ minute: 3 }) } });
    const app = express();
    app.use(gateway(headerAuth, limit));
    app.get('/', (_req, res) => res.send('ok'));
    const gold = [];
    for (let i = 0; i < 4; i++) gold.push((await request(app).get('/').set('x-consumer', 'gold')).status);
    expect(gold).toEqual([200, 200, 200, 429]);
    const res = await request(app).get('/').set('x-consumer', 'gold');
    expect(res.headers['x-ratelimit-limit-minute']).toBe('3');
    // Another consumer, and a request with none, get the default instance and its own counters.
    expect((await request(app).get('/').set('x-consumer', 'silver')).headers['x-ratelimit-limit-minute']).toBe('1');
    expect((await request(app).get('/').set('x-consumer', 'silver')).status).toBe(429);
  });

  it('skips the plugin for consumers without an instance when there is no default', async () => {
    const limit = perConsumer({ consumers: { gold: rateLimit({ minute: 1 }) } });
    const plain = await runPlugin([headerAuth, limit], createTestContext());
    expect(plain.status).toBe(200);
    expect(plain.headers['x-ratelimit-limit-minute']).toBeUndefined();
    const gold = await runPlugin([headerAuth, limit], createTestContext({ headers: { 'x-consumer': 'gold' } }));
    expect(gold.headers['x-ratelimit-limit-minute']).toBe('1');
  });

  it("hands the chosen instance every phase, with that instance's own private state", async () => {
    const seen: string[] = [];
    const tracer = (tag: string): AnyPlugin =>
      definePlugin<Record<string, never>, { n?: number }>({
        name: 'tracer',
        priority: 10,
        access: (_ctx, local) => void (local.n = 1),
        headerFilter: (ctx, local) => {
          seen.push(`${tag}:header:${local.n}`);
          ctx.response.setHeader('x-tracer', tag);
        },
        bodyFilter: (_ctx, chunk, eof, local) => (eof ? Buffer.from(`${chunk.toString()}+${tag}${local.n}`) : chunk),
        log: (_ctx, local) => void seen.push(`${tag}:log:${local.n}`),
      });
    const plugin = perConsumer({ default: tracer('default'), consumers: { gold: tracer('gold') } });
    const result = await runPlugin([headerAuth, plugin], createTestContext({ headers: { 'x-consumer': 'gold' } }), { body: 'body', headers: { 'content-type': 'text/plain' } });
    expect(result.headers['x-tracer']).toBe('gold');
    expect(result.body).toBe('body+gold1');
    expect(seen).toEqual(['gold:header:1', 'gold:log:1']);
  });

  it('answers a cache hit from the chosen proxy-cache instance', async () => {
    const app = express();
    let calls = 0;
    app.use(gateway(headerAuth, perConsumer({ default: proxyCache(), consumers: { gold: proxyCache({ cacheTtl: 60 }) } })));
    app.get('/', (_req, res) => res.json({ calls: ++calls }));
    const first = await request(app).get('/').set('x-consumer', 'gold');
    const second = await request(app).get('/').set('x-consumer', 'gold');
    expect(first.headers['x-cache-status']).toBe('Miss');
    expect(second.headers['x-cache-status']).toBe('Hit');
    expect(second.body).toEqual({ calls: 1 });
  });

  it('takes the name and priority of the plugin it dispatches', () => {
    const plugin = perConsumer({ default: rateLimit({ minute: 1 }), consumers: { gold: rateLimit({ minute: 2 }) } });
    expect(plugin.name).toBe('rate-limiting');
    expect(plugin.priority).toBe(910);
    expect(plugin.config).toEqual({ consumers: ['gold'], hasDefault: true });
  });

  it('refuses instances of different plugins, an empty table and unknown options', () => {
    // The type parameter catches this at compile time; plain JavaScript gets the ConfigError.
    expect(configError(() => perConsumer<AnyPlugin>({ default: rateLimit({ minute: 1 }), consumers: { gold: proxyCache() } })).option).toBe('consumers.gold');
    expect(configError(() => perConsumer({ consumers: {} })).option).toBe('consumers');
    expect(configError(() => perConsumer({ consumers: { gold: {} as AnyPlugin } })).option).toBe('consumers.gold');
    expect(configError(() => perConsumer({ consumers: { gold: rateLimit({ minute: 1 }) }, fallback: 1 } as never)).option).toBe('fallback');
  });
});

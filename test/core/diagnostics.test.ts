/**
 * tollgate's diagnostics channels, seen the way a subscriber sees them (through captureEvents,
 * which subscribes with node:diagnostics_channel), for requests through real Express gateways,
 * a real upstream and the test issuer.
 */
import express from 'express';
import request from 'supertest';
import { tracingChannel } from 'node:diagnostics_channel';
import { definePlugin, oidc, proxyCache, rateLimit, setLogger, upstreamProxy, type UpstreamTryMessage } from 'tollgate';
import { gateway } from 'tollgate/express';
import { captureEvents, createEchoUpstream, createTestIssuer, type EchoUpstream, type EventCapture, type TestIssuer } from 'tollgate/testing';
import { redactUrl } from '../../src/core/diagnostics';
import { freePort } from '../support/ports';

let events: EventCapture;
beforeEach(() => (events = captureEvents()));
afterEach(() => events.stop());
beforeAll(() => setLogger({ debug() {}, info() {}, warn() {}, error() {} }));
afterAll(() => setLogger(null));

describe('tollgate:request and tollgate:plugin', () => {
  it('report a refusal: which plugin answered, with what status and code, and the source of the answer', async () => {
    const app = express();
    app.use('/api', gateway(rateLimit({ minute: 1, policy: 'local' })));
    app.get('/api/orders', (_req, res) => res.json({ ok: true }));
    await request(app).get('/api/orders').expect(200);
    await request(app).get('/api/orders?token=abc').expect(429);
    await events.waitFor('tollgate:request', (m) => m.status === 429);

    const requests = events.ended('tollgate:request');
    expect(requests).toEqual([
      expect.objectContaining({ method: 'GET', route: '/api', status: 200, source: 'app', code: undefined }),
      expect.objectContaining({ method: 'GET', route: '/api', status: 429, source: 'gateway', code: 'ERR_RATE_LIMIT_EXCEEDED' }),
    ]);
    const access = events.ended('tollgate:plugin').filter((m) => m.phase === 'access');
    expect(access.map((m) => [m.plugin, m.outcome, m.status, m.code])).toEqual([
      ['rate-limiting', 'ok', undefined, undefined],
      ['rate-limiting', 'answered', 429, 'ERR_RATE_LIMIT_EXCEEDED'],
    ]);
    // The header phase ran for both responses; each phase has a start before its end.
    expect(events.ended('tollgate:plugin').filter((m) => m.phase === 'headerFilter')).toHaveLength(2);
    const plugin = events.events.filter((e) => e.channel === 'tollgate:plugin').map((e) => e.event);
    expect(plugin.filter((e) => e === 'start')).toHaveLength(plugin.filter((e) => e === 'end').length);
    // The route is the mount, never the raw path or its query.
    expect(JSON.stringify(events.events.map((e) => ({ ...e.message, ctx: undefined })))).not.toContain('abc');
  });

  it('publishes error then end for a hook that throws, with the consumer a plugin set', async () => {
    const who = definePlugin({ name: 'who', priority: 20, access: (ctx) => void (ctx.consumer = { id: 'acme' }) });
    const boom = definePlugin({
      name: 'boom',
      priority: 10,
      access() {
        throw new Error('bug');
      },
    });
    const app = express();
    app.use(gateway(who, boom));
    await request(app).get('/').expect(500);
    const failed = events.events.filter((e) => e.channel === 'tollgate:plugin' && e.message.plugin === 'boom').map((e) => e.event);
    expect(failed).toEqual(['start', 'error', 'end']);
    expect(events.ended('tollgate:plugin').find((m) => m.plugin === 'boom')).toMatchObject({ outcome: 'error', status: 500, code: 'ERR_INTERNAL_UNEXPECTED', consumer: 'acme' });
    expect(await events.waitFor('tollgate:request')).toMatchObject({ status: 500, source: 'gateway', consumer: 'acme', code: 'ERR_INTERNAL_UNEXPECTED' });
  });

  it('keeps the request out of a message written out as JSON', async () => {
    const app = express();
    app.use(gateway(definePlugin({ name: 'noop', priority: 1, access() {} })));
    app.get('/', (_req, res) => res.send('ok'));
    const seen: string[] = [];
    const subscriber = (m: unknown) => void seen.push(JSON.stringify(m));
    const start = tracingChannel('tollgate:plugin').start;
    start.subscribe(subscriber);
    try {
      await request(app).get('/').set('authorization', 'Bearer secret-token').expect(200);
    } finally {
      start.unsubscribe(subscriber);
    }
    expect(seen.length).toBeGreaterThan(0);
    for (const json of seen) expect(json).not.toContain('secret-token');
  });
});

describe('tollgate:upstream', () => {
  let echo: EchoUpstream;
  beforeAll(async () => (echo = await createEchoUpstream()));
  afterAll(() => echo.close());

  it('publishes start and end for a proxied request, and lets a subscriber set a header of the try', async () => {
    const proxy = upstreamProxy({ url: echo.url });
    const app = express();
    app.use('/httpbin', gateway(proxy));
    const setter = (m: unknown) => (m as UpstreamTryMessage).setHeader('traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    const channel = tracingChannel('tollgate:upstream').start;
    channel.subscribe(setter);
    try {
      const res = await request(app).get('/httpbin/get?access_token=abc&page=2').set('traceparent', '00-11111111111111111111111111111111-2222222222222222-01').expect(200);
      // The subscriber's header replaced the client's.
      expect(res.body.headers.traceparent).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    } finally {
      channel.unsubscribe(setter);
      proxy.close();
    }
    const tries = events.events.filter((e) => e.channel === 'tollgate:upstream');
    expect(tries.map((e) => e.event)).toEqual(['start', 'end']);
    expect(tries[1]!.message).toMatchObject({
      method: 'GET',
      route: '/httpbin',
      target: `${echo.url}/`,
      url: `${echo.url}/get?access_token=REDACTED&page=REDACTED`,
      serverAddress: '127.0.0.1',
      attempt: 1,
      outcome: 'response',
      status: 200,
      health: 'healthchecks_off',
    });
  });

  it('reports a refused connection as an error of kind refused, each try on its own', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const proxy = upstreamProxy({ targets: [dead, echo.url], retries: 1 });
    const app = express();
    app.use(gateway(proxy));
    try {
      await request(app).get('/get').expect(200);
    } finally {
      proxy.close();
    }
    const tries = events.ended('tollgate:upstream');
    expect(tries.map((t) => [t.attempt, t.outcome, t.errorKind, t.code, t.health])).toEqual([
      [1, 'error', 'refused', 'ERR_UPSTREAM_BAD_RESPONSE', 'unhealthy'],
      [2, 'response', undefined, undefined, 'healthy'],
    ]);
    expect(events.events.filter((e) => e.channel === 'tollgate:upstream' && e.event === 'error')).toHaveLength(1);
  });
});

describe('tollgate:idp', () => {
  let idp: TestIssuer;
  beforeAll(async () => (idp = await createTestIssuer({ clients: [{ clientId: 'svc', clientSecret: 's', audience: 'https://api' }] })));
  afterAll(() => idp.close());

  it('publishes discovery, JWKS and token calls with their status and outcome', async () => {
    const app = express();
    app.use(gateway(oidc({ issuer: idp.issuer, allowInsecureIssuer: true, audience: 'https://api', authMethods: ['bearer', 'client_credentials'], tokenPostArgs: { audience: 'https://api' } })));
    app.get('/', (_req, res) => res.send('ok'));
    await request(app).get('/').set('authorization', `Bearer ${await idp.sign({ aud: 'https://api' })}`).expect(200);
    await request(app).get('/').auth('svc', 's').expect(200);
    await request(app).get('/').auth('svc', 'wrong').expect(401);
    const calls = events.ended('tollgate:idp').map((m) => [m.endpoint, m.method, m.status, m.outcome, m.code]);
    expect(calls).toEqual([
      ['discovery', 'GET', 200, 'ok', undefined],
      ['jwks', 'GET', 200, 'ok', undefined],
      ['token', 'POST', 200, 'ok', undefined],
      ['token', 'POST', 401, 'rejected', 'ERR_AUTH_UNAUTHORIZED'],
    ]);
    expect(events.ended('tollgate:idp')[0]!.url).toBe(`${idp.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
    // The refusal is told apart in the plugin's code, not only as a 401.
    expect(events.ended('tollgate:plugin').filter((m) => m.plugin === 'oidc').map((m) => m.code)).toEqual([undefined, undefined, 'ERR_OIDC_CLIENT_REJECTED']);
  });

  it('reports an unreachable issuer as unreachable, with the code the request failed with', async () => {
    const app = express();
    app.use(gateway(oidc({ issuer: `http://127.0.0.1:${await freePort()}/`, allowInsecureIssuer: true, audience: 'https://api' })));
    await request(app).get('/').set('authorization', `Bearer ${await idp.sign({ aud: 'https://api' })}`).expect(503);
    expect(events.ended('tollgate:idp')).toEqual([expect.objectContaining({ endpoint: 'discovery', outcome: 'unreachable', status: undefined, code: 'ERR_IDP_UNAVAILABLE' })]);
  });
});

describe('tollgate:cache', () => {
  it('publishes one verdict per request: Miss, then Hit', async () => {
    const app = express();
    app.use(gateway(proxyCache({ strategy: 'memory' })));
    app.get('/', (_req, res) => res.json({ n: 1 }));
    await request(app).get('/').expect(200);
    await request(app).get('/').expect(200);
    expect(events.ended('tollgate:cache').map((m) => [m.route, m.status])).toEqual([
      ['/', 'Miss'],
      ['/', 'Hit'],
    ]);
  });
});

describe('redactUrl', () => {
  it('replaces every query value and drops user info', () => {
    expect(redactUrl('https://u:p@idp.example/token?code=abc&state=x&flag#frag')).toBe('https://idp.example/token?code=REDACTED&state=REDACTED&flag');
    expect(redactUrl('http://host/a/b')).toBe('http://host/a/b');
  });
});

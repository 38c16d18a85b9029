import Koa from 'koa';
import request from 'supertest';
import { oidc, rateLimit } from 'tollgate';
import { gateway as koaGateway } from 'tollgate/koa';
import { captureEvents, createTestContext, createTestIssuer, runPlugin } from 'tollgate/testing';
import { testClock } from '../plugins/rate-limit/support';

describe('captureEvents', () => {
  it("collects a runPlugin request's events: the request, and which plugin refused it with which code", async () => {
    const events = captureEvents();
    try {
      const limit = rateLimit({ minute: 1, now: testClock() });
      const ctx = createTestContext({ url: '/orders', route: '/orders' });
      const other = createTestContext({ url: '/orders', route: '/orders' });
      await runPlugin(limit, other);
      expect((await runPlugin(limit, ctx)).status).toBe(429);
      expect(events.ended('tollgate:request', ctx)).toEqual([expect.objectContaining({ route: '/orders', status: 429, source: 'gateway', code: 'ERR_RATE_LIMIT_EXCEEDED', ctx })]);
      expect(events.ended('tollgate:plugin', ctx).filter((m) => m.phase === 'access')).toEqual([
        expect.objectContaining({ plugin: 'rate-limiting', outcome: 'answered', status: 429, code: 'ERR_RATE_LIMIT_EXCEEDED' }),
      ]);
      expect(events.ended('tollgate:request', other)).toEqual([expect.objectContaining({ status: 200, source: 'app' })]);
    } finally {
      events.stop();
    }
  });

  it('sees a Koa gateway, tells an invalid token from an expired one, and stops when told', async () => {
    const idp = await createTestIssuer();
    const events = captureEvents(['tollgate:request', 'tollgate:plugin']);
    try {
      const app = new Koa();
      app.use(koaGateway(oidc({ issuer: idp.issuer, allowInsecureIssuer: true, audience: 'https://api' })));
      app.use((koa) => void (koa.body = 'ok'));
      const server = app.callback();
      await request(server).get('/').set('authorization', `Bearer ${await idp.sign({ aud: 'https://other' })}`).expect(401);
      await request(server).get('/').set('authorization', `Bearer ${await idp.sign({ aud: 'https://api' }, { expiresIn: -300 })}`).expect(401);
      await request(server).get('/').set('authorization', `Bearer ${await idp.sign({ aud: 'https://api' })}`).expect(200);
      const ended = await events.waitFor('tollgate:request', (m) => m.status === 200);
      expect(ended).toMatchObject({ route: '/', source: 'app', code: undefined });
      expect(events.ended('tollgate:plugin').map((m) => m.code)).toEqual(['ERR_OIDC_TOKEN_INVALID', 'ERR_OIDC_TOKEN_EXPIRED', undefined]);
      expect(events.ended('tollgate:request').map((m) => [m.status, m.source])).toEqual([
        [401, 'gateway'],
        [401, 'gateway'],
        [200, 'app'],
      ]);
      events.stop();
      const before = events.events.length;
      await request(server).get('/').expect(401);
      expect(events.events).toHaveLength(before);
    } finally {
      events.stop();
      await idp.close();
    }
  });

  it('refuses a channel that is not one of tollgate\'s', () => {
    expect(() => captureEvents(['tollgate:nope' as never])).toThrow(TypeError);
  });
});

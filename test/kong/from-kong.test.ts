/**
 * A decK file run in-process, end to end: a real OpenID Provider (oidc-provider) issues the
 * tokens, a real upstream echoes what it receives, and the same file is mounted in Express and Koa.
 */
import express from 'express';
import Koa from 'koa';
import request from 'supertest';
import { ConfigError, setLogger } from 'tollgate';
import { fromKong, type KongGateway } from 'tollgate/kong';
import { createEchoUpstream, type EchoResponse, type EchoUpstream } from 'tollgate/testing';
import { startOidcProvider, type OidcProviderFixture } from '../support/oidc-provider';
import { secondsLeft, testClock, type TestClock } from '../plugins/rate-limit/support';

const deck = (issuer: string, upstream: string, goldClientId: string, silverClientId: string) => `
_format_version: "3.0"
services:
  - name: orders
    url: ${upstream}/anything
    plugins:
      - name: proxy-cache
        config:
          strategy: memory
          cache_ttl: 30
    routes:
      - name: orders-api
        paths: [/api]
        strip_path: true
        plugins:
          - name: openid-connect
            config:
              issuer: ${issuer}
              auth_methods: [bearer]
              consumer_claim: [client_id]
              consumer_by: [custom_id]
              consumer_optional: true
          - name: rate-limiting
            config:
              minute: 2
              policy: local
consumers:
  - username: gold-partner
    custom_id: ${goldClientId}
    plugins:
      - name: rate-limiting
        config:
          minute: 4
          policy: local
  - username: silver-partner
    custom_id: ${silverClientId}
`;

describe('fromKong', () => {
  let op: OidcProviderFixture;
  let upstream: EchoUpstream;
  let goldToken: string;
  let otherToken: string;
  const gateways: KongGateway[] = [];

  beforeAll(async () => {
    setLogger({ debug() {}, info() {}, warn() {}, error() {} });
    [op, upstream] = await Promise.all([startOidcProvider(), createEchoUpstream()]);
    goldToken = await op.token({ resource: op.api });
    otherToken = await op.token({ resource: op.api, client: op.postClient });
  });
  afterAll(async () => {
    setLogger(null);
    await Promise.all([op.stop(), upstream.close(), ...gateways.map((g) => g.close())]);
  });

  // The limits count per UTC minute: each gateway's clock stands still inside one until a test moves it.
  const load = (now: TestClock) => {
    const kong = fromKong(deck(op.issuer, upstream.url, op.client.clientId, op.postClient.clientId), { now });
    gateways.push(kong);
    return kong;
  };

  describe('in Express', () => {
    let app: express.Express;
    const now = testClock();
    beforeAll(() => {
      app = express();
      app.use(load(now).express());
    });

    it('strips the route path and sends the rest to the service path, with the mapped consumer', async () => {
      const res = await request(app).get('/api/orders?page=2').set('authorization', `Bearer ${goldToken}`);
      expect(res.status).toBe(200);
      const echo = res.body as EchoResponse;
      expect(echo.path).toBe('/anything/orders');
      expect(echo.args).toEqual({ page: '2' });
      expect(echo.headers['x-forwarded-prefix']).toBe('/api');
      expect(echo.headers['x-consumer-username']).toBe('gold-partner');
      expect(echo.headers['x-consumer-custom-id']).toBe(op.client.clientId);
    });

    it('refuses a request without a token with 401 before any limit or cache', async () => {
      const res = await request(app).get('/api/x');
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ message: 'Unauthorized' });
      expect(res.headers['x-ratelimit-limit-minute']).toBeUndefined();
    });

    it("gives the gold consumer its own limit and other consumers the route's", async () => {
      const statuses = async (token: string, n: number) => {
        const out: [number, string | undefined][] = [];
        for (let i = 0; i < n; i++) {
          const res = await request(app).get(`/api/limits?i=${i}`).set('authorization', `Bearer ${token}`);
          out.push([res.status, res.headers['x-ratelimit-limit-minute']]);
        }
        return out;
      };
      // The gold consumer has made one request already (the first test), against its own budget of 4.
      expect(await statuses(goldToken, 4)).toEqual([
        [200, '4'],
        [200, '4'],
        [200, '4'],
        [429, '4'],
      ]);
      expect(await statuses(otherToken, 3)).toEqual([
        [200, '2'],
        [200, '2'],
        [429, '2'],
      ]);
      // Refused until the minute ends, to the second.
      const refused = await request(app).get('/api/limits').set('authorization', `Bearer ${otherToken}`);
      expect(refused.status).toBe(429);
      expect(refused.headers['retry-after']).toBe(String(secondsLeft(now(), 60_000)));
    });

    it('answers Kong\'s 404 for a path no route matches', async () => {
      const res = await request(app).get('/nothing/here');
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ message: 'no Route matched with those values' });
      expect(upstream.requests).toBeGreaterThan(0);
    });
  });

  describe('in Koa', () => {
    it('runs the same file: strip_path, consumer limits, cache and 404', async () => {
      const kong = load(testClock());
      const app = new Koa();
      app.use(kong.koa());
      const server = app.callback();
      const get = (path: string, token?: string) => {
        const r = request(server).get(path);
        return token ? r.set('authorization', `Bearer ${token}`) : r;
      };
      const first = await get('/api/koa', otherToken);
      expect(first.status).toBe(200);
      expect((first.body as EchoResponse).path).toBe('/anything/koa');
      expect(first.headers['x-cache-status']).toBe('Miss');
      const second = await get('/api/koa', otherToken);
      expect(second.headers['x-cache-status']).toBe('Hit');
      // Cache hits count against the limit (rate limiting runs first, as in Kong): the third request is over 2.
      expect((await get('/api/koa', otherToken)).status).toBe(429);
      expect((await get('/api/koa', goldToken)).headers['x-ratelimit-remaining-minute']).toBe('3');
      const missing = await get('/elsewhere');
      expect(missing.status).toBe(404);
      expect(missing.body).toEqual({ message: 'no Route matched with those values' });
    });
  });

  describe('in Express, the proxy cache', () => {
    it('is scoped to the service and kept apart per consumer', async () => {
      const app = express();
      app.use(load(testClock()).express());
      const get = (token: string) => request(app).get('/api/cached').set('authorization', `Bearer ${token}`);
      expect((await get(goldToken)).headers['x-cache-status']).toBe('Miss');
      expect((await get(goldToken)).headers['x-cache-status']).toBe('Hit');
      // Another consumer never gets the gold consumer's entry.
      expect((await get(otherToken)).headers['x-cache-status']).toBe('Miss');
    });
  });

  describe('with options.now', () => {
    it("gives every rate limiter the app's clock: a window ends when that clock says so", async () => {
      const now = testClock();
      const kong = fromKong(
        `
_format_version: "3.0"
services:
  - name: s
    url: ${upstream.url}/anything
    routes: [{ name: r, paths: [/r] }]
    plugins: [{ name: rate-limiting, config: { minute: 1, policy: local } }]
`,
        { now },
      );
      gateways.push(kong);
      const app = express();
      app.use(kong.express());
      const get = () => request(app).get('/r');
      expect((await get()).status).toBe(200);
      const refused = await get();
      expect(refused.status).toBe(429);
      expect(refused.headers['retry-after']).toBe(String(secondsLeft(now(), 60_000)));
      // The last millisecond of the minute is still in it; the next one starts a new window.
      now.advance(60_000 - (now() % 60_000) - 1);
      const last = await get();
      expect(last.status).toBe(429);
      expect(last.headers['retry-after']).toBe('1');
      now.advance(1);
      const next = await get();
      expect(next.status).toBe(200);
      expect(next.headers['x-ratelimit-remaining-minute']).toBe('0');
      expect(next.headers['ratelimit-reset']).toBe('60');
      now.advance(60_000);
      expect((await get()).status).toBe(200);
    });

    it('refuses a now that is not a function, naming now', () => {
      let thrown: unknown;
      try {
        fromKong('_format_version: "3.0"', { now: Date.now() as never });
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(ConfigError);
      expect((thrown as ConfigError).option).toBe('now');
      expect((thrown as ConfigError).message).toMatch(/^fromKong: "now" must be a function/);
    });
  });
});

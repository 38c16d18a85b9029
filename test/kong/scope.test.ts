/**
 * Kong's plugin precedence: only the most specific instance of a plugin runs for a request —
 * consumer+route+service > consumer+route > consumer+service > route+service > consumer > route >
 * service > global. Each instance here has its own limit, so X-RateLimit-Limit-Minute tells which ran.
 */
import express from 'express';
import request from 'supertest';
import { fromKong, type KongGateway } from 'tollgate/kong';
import { createEchoUpstream, createTestIssuer, type EchoUpstream, type TestIssuer } from 'tollgate/testing';
import { secondsLeft, testClock } from '../plugins/rate-limit/support';

const API = 'https://api.example';
const limit = (minute: number) => `{ name: rate-limiting, config: { minute: ${minute} } }`;

describe('fromKong plugin precedence', () => {
  let idp: TestIssuer;
  let upstream: EchoUpstream;
  let kong: KongGateway;
  let app: express.Express;
  let gold: string;
  let plain: string;

  beforeAll(async () => {
    [idp, upstream] = await Promise.all([createTestIssuer({ clients: [{ clientId: 'gold-client', clientSecret: 's' }, { clientId: 'plain-client', clientSecret: 's' }] }), createEchoUpstream()]);
    gold = await idp.clientToken('gold-client', { audience: API });
    plain = await idp.clientToken('plain-client', { audience: API });
    kong = fromKong(`
_format_version: "3.0"
services:
  - name: shop
    url: ${upstream.url}/anything
    plugins: [${limit(50)}]
    routes:
      - { name: orders, paths: [/orders], plugins: [${limit(20)}] }
      - { name: users, paths: [/users] }
      - { name: pinned, paths: [/pinned] }
      - name: cart
        paths: [/cart]
  - name: admin
    url: ${upstream.url}/anything
    routes:
      - { name: reports, paths: [/reports] }
routes:
  - { name: loose, paths: [/loose], service: shop }
plugins:
  - name: openid-connect
    config:
      issuer: ${idp.issuer}
      auth_methods: [bearer]
      consumer_claim: [azp]
      consumer_optional: true
  - ${limit(100)}
  - { name: rate-limiting, service: shop, route: pinned, config: { minute: 7 } }
  - { name: rate-limiting, consumer: gold, route: users, config: { minute: 500 } }
  - { name: rate-limiting, consumer: gold, service: admin, config: { minute: 300 } }
  - { name: rate-limiting, consumer: gold, service: shop, route: cart, config: { minute: 900 } }
consumers:
  - username: gold
    custom_id: gold-client
    plugins: [${limit(1000)}]
`);
    app = express();
    app.use(kong.express());
  });
  afterAll(async () => {
    await Promise.all([idp.close(), upstream.close(), kong.close()]);
  });

  const limitOf = async (path: string, token: string) => {
    const res = await request(app).get(path).set('authorization', `Bearer ${token}`);
    expect(res.status).toBe(200);
    return Number(res.headers['x-ratelimit-limit-minute']);
  };

  it('runs the route instance over the service one, and the service one over the global one', async () => {
    expect(await limitOf('/orders', plain)).toBe(20);
    expect(await limitOf('/users', plain)).toBe(50);
    expect(await limitOf('/reports', plain)).toBe(100);
  });

  it('runs a route+service instance over the service and global ones, and over a consumer instance', async () => {
    expect(await limitOf('/pinned', plain)).toBe(7);
    // route+service (7) outranks consumer alone (1000)
    expect(await limitOf('/pinned', gold)).toBe(7);
  });

  it("runs the consumer's instance over route, service and global ones", async () => {
    expect(await limitOf('/orders', gold)).toBe(1000);
    expect(await limitOf('/loose', gold)).toBe(1000);
    expect(await limitOf('/loose', plain)).toBe(50);
  });

  it('runs consumer+route over consumer+service over consumer alone, and consumer+route+service over all', async () => {
    expect(await limitOf('/users', gold)).toBe(500);
    expect(await limitOf('/reports', gold)).toBe(300);
    expect(await limitOf('/cart', gold)).toBe(900);
    expect(await limitOf('/cart', plain)).toBe(50);
  });

  it('counts a service-scoped instance across the routes of the service, as Kong does', async () => {
    // The limit counts per UTC minute: the clock stands still inside one.
    const now = testClock();
    const small = fromKong(
      `
_format_version: "3.0"
services:
  - name: s
    url: ${upstream.url}/anything
    plugins: [{ name: rate-limiting, config: { minute: 2, limit_by: ip } }]
    routes:
      - { name: a, paths: [/a] }
      - { name: b, paths: [/b] }
`,
      { now },
    );
    const a = express();
    a.use(small.express());
    expect((await request(a).get('/a')).status).toBe(200);
    expect((await request(a).get('/b')).status).toBe(200);
    const refused = await request(a).get('/a');
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe(String(secondsLeft(now(), 60_000)));
    await small.close();
  });

  it('keeps proxy-cache entries per route, as Kong keys them, even for one service-scoped instance', async () => {
    const cached = fromKong(`
_format_version: "3.0"
services:
  - name: s
    url: ${upstream.url}/anything
    plugins: [{ name: proxy-cache, config: { strategy: memory } }]
    routes:
      - { name: shop-a, hosts: [a.example], paths: [/x] }
      - { name: shop-b, hosts: [b.example], paths: [/x] }
`);
    const a = express();
    a.use(cached.express());
    const get = (host: string) => request(a).get('/x/page').set('host', host);
    expect((await get('a.example')).headers['x-cache-status']).toBe('Miss');
    const b = await get('b.example');
    expect(b.headers['x-cache-status']).toBe('Miss');
    expect(b.body.headers.host).toBe(new URL(upstream.url).host);
    expect((await get('a.example')).headers['x-cache-status']).toBe('Hit');
    await cached.close();
  });
});

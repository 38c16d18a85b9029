/**
 * The plugin translations that need a real counterpart: oauth2-introspection against an
 * introspection endpoint, openid-connect's client credentials with Kong's `audience`, and
 * rate-limiting's `redis` record against the shared Redis.
 */
import { randomBytes } from 'node:crypto';
import express from 'express';
import request from 'supertest';
import { setLogger } from 'tollgate';
import { fromKong, type KongGateway } from 'tollgate/kong';
import { createEchoUpstream, createTestIssuer, type EchoResponse, type EchoUpstream, type TestIssuer } from 'tollgate/testing';
import { secondsLeft, testClock, type TestClock } from '../plugins/rate-limit/support';

describe('fromKong plugins', () => {
  let idp: TestIssuer;
  let upstream: EchoUpstream;
  const gateways: KongGateway[] = [];
  beforeAll(async () => {
    setLogger({ debug() {}, info() {}, warn() {}, error() {} });
    [idp, upstream] = await Promise.all([
      createTestIssuer({ introspectionAuthorization: 'Basic cHJlc2V0', clients: [{ clientId: 'machine', clientSecret: 'machine-secret' }] }),
      createEchoUpstream(),
    ]);
  });
  afterAll(async () => {
    setLogger(null);
    await Promise.all([idp.close(), upstream.close(), ...gateways.map((g) => g.close())]);
  });
  const appOf = (yaml: string, now?: TestClock) => {
    const kong = fromKong(`_format_version: "3.0"\n${yaml}`, { now });
    gateways.push(kong);
    const app = express();
    app.use(kong.express());
    return app;
  };

  it('runs oauth2-introspection against introspection_url alone, mapping the consumer by client_id', async () => {
    const app = appOf(`
services:
  - name: reports
    url: ${upstream.url}/anything
    routes: [{ name: r, paths: [/reports] }]
    plugins:
      - name: oauth2-introspection
        config:
          introspection_url: ${idp.introspectionEndpoint}
          authorization_value: Basic cHJlc2V0
          consumer_by: client_id
          custom_claims_forward: [tenant]
consumers:
  - { username: reporting-team, custom_id: reporting }
`);
    idp.resetCounters();
    const exp = Math.floor(Date.now() / 1000) + 300;
    const token = idp.opaqueToken({ client_id: 'reporting', sub: 'svc', tenant: 'acme', exp });
    const res = await request(app).get('/reports').set('authorization', `Bearer ${token}`);
    expect(res.status).toBe(200);
    const headers = (res.body as EchoResponse).headers;
    expect(headers['x-consumer-username']).toBe('reporting-team');
    expect(headers['x-credential-client-id']).toBe('reporting');
    expect(headers['x-credential-tenant']).toBe('acme');
    expect(idp.requests).toMatchObject({ discovery: 0, introspection: 1 });
    // A token of a client no consumer has goes on without a consumer, as in Kong.
    const other = await request(app).get('/reports').set('authorization', `Bearer ${idp.opaqueToken({ client_id: 'someone', exp })}`);
    expect(other.status).toBe(200);
    expect((other.body as EchoResponse).headers['x-consumer-username']).toBeUndefined();
    expect((await request(app).get('/reports').set('authorization', 'Bearer not-a-token')).status).toBe(401);
  });

  it("exchanges client credentials with Kong's audience sent to the token endpoint", async () => {
    const app = appOf(`
services:
  - name: api
    url: ${upstream.url}/anything
    routes:
      - name: r
        paths: [/api]
        plugins:
          - name: openid-connect
            config:
              issuer: ${idp.issuer}
              auth_methods: [client_credentials]
              audience: [https://api.example]
              client_auth: [client_secret_post]
`);
    const basic = `Basic ${Buffer.from('machine:machine-secret').toString('base64')}`;
    const res = await request(app).get('/api').set('authorization', basic);
    expect(res.status).toBe(200);
    const forwarded = String((res.body as EchoResponse).headers.authorization);
    expect(forwarded).toMatch(/^Bearer /);
    const claims = JSON.parse(Buffer.from(forwarded.slice(7).split('.')[1]!, 'base64url').toString()) as { aud: string };
    expect(claims.aud).toBe('https://api.example');
  });

  it("counts rate-limiting's policy: redis in the Redis its redis record names, shared by every process", async () => {
    const id = `kong-test-${randomBytes(4).toString('hex')}`;
    const yaml = `
services:
  - name: api
    url: ${upstream.url}/anything
    routes: [{ name: r, paths: [/api] }]
plugins:
  - id: ${id}
    name: rate-limiting
    config: { hour: 2, limit_by: header, header_name: x-client, policy: redis, redis: { host: 127.0.0.1, port: 6379, database: 0, timeout: 2000 } }
`;
    // Two gateways built from the same file, as two instances of the service would be; their
    // clock stands still inside one UTC hour.
    const now = testClock();
    const [one, two] = [appOf(yaml, now), appOf(yaml, now)];
    // Until its client is connected a fault-tolerant limiter lets requests through uncounted: wait (other clients' budgets).
    for (const app of [one, two]) {
      for (let i = 0; i < 100 && (await request(app).get('/api').set('x-client', `warm-${i}`)).headers['x-ratelimit-limit-hour'] === undefined; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    const first = await request(one).get('/api').set('x-client', 'c');
    expect(first.status).toBe(200);
    expect(first.headers['x-ratelimit-remaining-hour']).toBe('1');
    expect((await request(two).get('/api').set('x-client', 'c')).headers['x-ratelimit-remaining-hour']).toBe('0');
    const refused = await request(one).get('/api').set('x-client', 'c');
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe(String(secondsLeft(now(), 3_600_000)));
  });
});

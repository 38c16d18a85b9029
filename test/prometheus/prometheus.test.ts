/**
 * tollgate/prometheus with a real prom-client Registry, scraped over HTTP and parsed: the walkthrough
 * gateway (oidc, rate limiting, cache, upstream) in front of the test issuer and a real upstream,
 * an app route and a dead upstream, each behind its own gateway on one registry.
 */
import express from 'express';
import request from 'supertest';
import { Registry } from 'prom-client';
import { oidc, proxyCache, rateLimit, setLogger, upstreamProxy, type UpstreamProxyPlugin } from 'tollgate';
import { gateway } from 'tollgate/express';
import { prometheus, type PrometheusPlugin } from 'tollgate/prometheus';
import { createEchoUpstream, createTestIssuer, type EchoUpstream, type TestIssuer } from 'tollgate/testing';
import { testClock } from '../plugins/rate-limit/support';
import { configError } from '../support/config-error';
import { freePort } from '../support/ports';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The Prometheus text format, line by line (what a scraper reads). */
function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k!] = v!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

/** The sum of the samples of `name` whose labels include `labels`. */
const value = (samples: Sample[], name: string, labels: Record<string, string> = {}): number =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((n, s) => n + s.value, 0);

const AUDIENCE = 'https://api.example';

describe('prometheus', () => {
  let idp: TestIssuer;
  let echo: EchoUpstream;
  const closers: (() => void)[] = [];
  beforeAll(async () => {
    setLogger({ debug() {}, info() {}, warn() {}, error() {} });
    idp = await createTestIssuer({ clients: [{ clientId: 'svc', clientSecret: 's', audience: AUDIENCE }] });
    echo = await createEchoUpstream();
  });
  afterEach(() => closers.splice(0).forEach((close) => close()));
  afterAll(async () => {
    setLogger(null);
    await Promise.all([idp.close(), echo.close()]);
  });

  const plugin = (options: Parameters<typeof prometheus>[0]): PrometheusPlugin => {
    const p = prometheus(options);
    closers.push(() => p.close());
    return p;
  };
  const proxy = (url: string): UpstreamProxyPlugin => {
    const p = upstreamProxy({ url, retries: 0 });
    closers.push(() => p.close());
    return p;
  };
  const walkthrough = () => oidc({ issuer: idp.issuer, allowInsecureIssuer: true, audience: AUDIENCE, authMethods: ['client_credentials', 'bearer'], tokenPostArgs: { audience: AUDIENCE } });

  it('counts requests by route, code and source, refusals by code, cache verdicts, upstream errors and IdP calls', async () => {
    const registry = new Registry();
    const app = express();
    app.use('/httpbin', gateway(prometheus({ registry }), walkthrough(), rateLimit({ minute: 4, policy: 'local', now: testClock() }), proxyCache({ strategy: 'memory', cacheTtl: 30 }), proxy(echo.url)));
    // Two more gateways with their own plugin on the same registry: nothing is registered twice.
    app.use('/app', gateway(plugin({ registry })), (_req, res) => void res.json({ from: 'app' }));
    const dead = `http://127.0.0.1:${await freePort()}`;
    app.use('/down', gateway(plugin({ registry }), proxy(dead)));
    app.get('/metrics', async (_req, res) => void res.type(registry.contentType).send(await registry.metrics()));

    await request(app).get('/httpbin/get').expect(401);
    await request(app).get('/httpbin/get').set('authorization', `Bearer ${await idp.sign({ aud: AUDIENCE }, { expiresIn: -120 })}`).expect(401);
    await request(app).get('/httpbin/get').auth('svc', 'wrong').expect(401);
    await request(app).get('/httpbin/get').auth('svc', 's').expect(200).expect('x-cache-status', 'Miss');
    for (let i = 0; i < 3; i++) await request(app).get('/httpbin/get').auth('svc', 's').expect(200).expect('x-cache-status', 'Hit');
    await request(app).get('/httpbin/get').auth('svc', 's').expect(429);
    await request(app).get('/app/hello').expect(200);
    await request(app).get('/down/x').expect(502);

    const scrape = await request(app).get('/metrics').expect(200);
    expect(scrape.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const s = parse(scrape.text);

    const requests = (labels: Record<string, string>) => value(s, 'tollgate_http_requests_total', labels);
    expect(requests({ route: '/httpbin', code: '401', source: 'gateway' })).toBe(3);
    expect(requests({ route: '/httpbin', code: '200', source: 'upstream' })).toBe(1);
    expect(requests({ route: '/httpbin', code: '200', source: 'gateway' })).toBe(3);
    expect(requests({ route: '/httpbin', code: '429', source: 'gateway' })).toBe(1);
    expect(requests({ route: '/app', code: '200', source: 'app' })).toBe(1);
    expect(requests({ route: '/down', code: '502', source: 'gateway' })).toBe(1);
    // No consumer label values unless perConsumer, and never a raw path.
    expect(new Set(s.filter((x) => x.name === 'tollgate_http_requests_total').map((x) => x.labels.consumer))).toEqual(new Set(['']));
    expect(scrape.text).not.toContain('/httpbin/get');

    expect(value(s, 'tollgate_auth_failures_total', { code: 'ERR_OIDC_CREDENTIALS_MISSING' })).toBe(1);
    expect(value(s, 'tollgate_auth_failures_total', { code: 'ERR_OIDC_TOKEN_EXPIRED' })).toBe(1);
    expect(value(s, 'tollgate_auth_failures_total', { code: 'ERR_OIDC_CLIENT_REJECTED' })).toBe(1);
    expect(value(s, 'tollgate_rate_limit_exceeded_total', { route: '/httpbin' })).toBe(1);
    expect(value(s, 'tollgate_cache_requests_total', { status: 'Miss' })).toBe(1);
    expect(value(s, 'tollgate_cache_requests_total', { status: 'Hit' })).toBe(3);
    expect(value(s, 'tollgate_upstream_errors_total', { kind: 'refused' })).toBe(1);
    expect(value(s, 'tollgate_idp_requests_total', { endpoint: 'discovery', outcome: 'ok' })).toBe(1);
    expect(value(s, 'tollgate_idp_requests_total', { endpoint: 'jwks', outcome: 'ok' })).toBe(1);
    expect(value(s, 'tollgate_idp_requests_total', { endpoint: 'token', outcome: 'ok' })).toBe(1);
    expect(value(s, 'tollgate_idp_requests_total', { endpoint: 'token', outcome: 'rejected' })).toBe(1);

    // Histograms: every request in the request latency, the upstream's answers in the upstream latency.
    expect(value(s, 'tollgate_request_latency_ms_count', { route: '/httpbin' })).toBe(8);
    expect(value(s, 'tollgate_request_latency_ms_bucket', { route: '/httpbin', le: '+Inf' })).toBe(8);
    expect(value(s, 'tollgate_upstream_latency_ms_count', { route: '/httpbin' })).toBe(1);
    expect(value(s, 'tollgate_gateway_latency_ms_count', { route: '/httpbin' })).toBe(8);
    expect(value(s, 'tollgate_gateway_latency_ms_count', { route: '/app' })).toBe(1);
    expect(s.some((x) => x.name === 'tollgate_gateway_latency_ms_bucket' && x.labels.le === '6000')).toBe(true);
    // The dead target is a single url: no health checks, as Kong reports it.
    expect(value(s, 'tollgate_upstream_target_health', { target: `${dead}/`, state: 'healthchecks_off' })).toBe(1);
  });

  it('fills the consumer label with perConsumer, under its own prefix', async () => {
    const registry = new Registry();
    const app = express();
    app.use(gateway(plugin({ registry, prefix: 'edge_', perConsumer: true }), walkthrough()), (_req, res) => void res.send('ok'));
    await request(app).get('/').auth('svc', 's').expect(200);
    const s = parse(await registry.metrics());
    expect(value(s, 'edge_http_requests_total', { route: '/', code: '200', source: 'app', consumer: 'svc' })).toBe(1);
    expect(s.some((x) => x.name.startsWith('tollgate_'))).toBe(false);
  });

  it('marks an unhealthy target on the health gauge', async () => {
    const registry = new Registry();
    const dead = `http://127.0.0.1:${await freePort()}`;
    const balanced = upstreamProxy({ targets: [dead, echo.url], retries: 1 });
    closers.push(() => balanced.close());
    const app = express();
    app.use(gateway(plugin({ registry }), balanced));
    await request(app).get('/get').expect(200);
    const s = parse(await registry.metrics());
    expect(value(s, 'tollgate_upstream_target_health', { target: `${dead}/`, state: 'unhealthy' })).toBe(1);
    expect(value(s, 'tollgate_upstream_target_health', { target: `${dead}/`, state: 'healthy' })).toBe(0);
    expect(value(s, 'tollgate_upstream_target_health', { target: `${echo.url}/`, state: 'healthy' })).toBe(1);
  });

  it('stops counting IdP calls once every plugin on the registry is closed', async () => {
    const registry = new Registry();
    const first = prometheus({ registry });
    const second = prometheus({ registry });
    const app = express();
    app.use(gateway(walkthrough()), (_req, res) => void res.send('ok'));
    await request(app).get('/').auth('svc', 's').expect(200);
    first.close();
    await request(app).get('/').auth('svc', 'other-secret').expect(401);
    second.close();
    await request(app).get('/').auth('svc', 'third-secret').expect(401);
    const s = parse(await registry.metrics());
    // Counted once per call, however many plugins share the registry; none after the last close.
    expect(value(s, 'tollgate_idp_requests_total', { endpoint: 'token' })).toBe(2);
  });

  it('refuses options it cannot use, naming the option', () => {
    const registry = new Registry();
    expect(configError(() => prometheus({ registry: {} as Registry })).option).toBe('registry');
    expect(configError(() => prometheus({ registry, prefix: 'bad-prefix' })).option).toBe('prefix');
    expect(configError(() => prometheus({ registry, buckets: { request: [5, 1] } })).option).toBe('buckets.request');
    expect(configError(() => prometheus({ registry, perConsumer: 'yes' as unknown as boolean })).option).toBe('perConsumer');
    expect(configError(() => prometheus({ registry, colour: 'red' } as never)).option).toBe('colour');
    plugin({ registry });
    expect(configError(() => prometheus({ registry, buckets: { gateway: [1, 2, 3] } })).option).toBe('buckets');
  });
});

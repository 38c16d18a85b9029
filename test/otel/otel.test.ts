/**
 * tollgate/otel with the OpenTelemetry SDK (NodeTracerProvider + InMemorySpanExporter): the
 * walkthrough gateway in front of the test issuer and a real upstream that echoes the headers it
 * received, so the `traceparent` it got can be checked against the spans.
 */
import express from 'express';
import request from 'supertest';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { oidc, rateLimit, setLogger, upstreamProxy, type UpstreamProxyPlugin } from 'tollgate';
import { gateway } from 'tollgate/express';
import { otel, type OtelPlugin } from 'tollgate/otel';
import { createEchoUpstream, createTestIssuer, type EchoUpstream, type TestIssuer } from 'tollgate/testing';
import { configError } from '../support/config-error';

const AUDIENCE = 'https://api.example';
const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';

const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;
const byName = (spans: ReadableSpan[], name: string): ReadableSpan => {
  const found = spans.find((s) => s.name === name);
  if (!found) throw new Error(`no span ${name} among ${spans.map((s) => s.name).join(', ')}`);
  return found;
};

describe('otel', () => {
  let idp: TestIssuer;
  let echo: EchoUpstream;
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const closers: (() => void)[] = [];
  beforeAll(async () => {
    setLogger({ debug() {}, info() {}, warn() {}, error() {} });
    idp = await createTestIssuer({ clients: [{ clientId: 'svc', clientSecret: 's', audience: AUDIENCE }] });
    echo = await createEchoUpstream();
  });
  afterEach(() => {
    closers.splice(0).forEach((close) => close());
    exporter.reset();
  });
  afterAll(async () => {
    setLogger(null);
    trace.disable();
    context.disable();
    propagation.disable();
    await provider.shutdown();
    await Promise.all([idp.close(), echo.close()]);
  });

  function walkthroughApp(tracing: OtelPlugin) {
    const proxy: UpstreamProxyPlugin = upstreamProxy({ url: echo.url });
    closers.push(() => tracing.close(), () => proxy.close());
    const app = express();
    app.use(
      '/httpbin',
      gateway(
        tracing,
        oidc({ issuer: idp.issuer, allowInsecureIssuer: true, audience: AUDIENCE, authMethods: ['client_credentials', 'bearer'], tokenPostArgs: { audience: AUDIENCE } }),
        rateLimit({ minute: 1000, policy: 'local' }),
        proxy,
      ),
    );
    return app;
  }

  /** The spans, once the request's own span (ended in the log phase, after the response) is in. */
  async function spansOf(name: string): Promise<ReadableSpan[]> {
    for (let i = 0; i < 100 && !exporter.getFinishedSpans().some((s) => s.name === name); i++) await new Promise((r) => setImmediate(r));
    return exporter.getFinishedSpans();
  }

  it("continues the caller's traceparent on every span and sends upstream the CLIENT span as parent", async () => {
    // A provider passed in, never registered: no global propagator, W3C Trace Context built in.
    const app = walkthroughApp(otel({ tracerProvider: provider }));
    const res = await request(app)
      .get('/httpbin/get?secret=abc')
      .auth('svc', 's')
      .set('traceparent', `00-${CALLER_TRACE}-${CALLER_SPAN}-01`)
      .set('tracestate', 'vendor=1')
      .expect(200);
    const spans = await spansOf('GET /httpbin');

    expect(spans.length).toBeGreaterThanOrEqual(7);
    for (const span of spans) expect(span.spanContext().traceId).toBe(CALLER_TRACE);

    const server = byName(spans, 'GET /httpbin');
    expect(server.kind).toBe(SpanKind.SERVER);
    expect(parentOf(server)).toBe(CALLER_SPAN);
    expect(server.attributes).toMatchObject({ 'http.request.method': 'GET', 'http.route': '/httpbin', 'url.path': '/httpbin/get', 'http.response.status_code': 200, 'tollgate.source': 'upstream' });

    // A span per plugin phase that ran, children of the request's span.
    for (const name of ['tollgate.access.oidc', 'tollgate.access.rate-limiting', 'tollgate.access.upstream-proxy', 'tollgate.header_filter.rate-limiting']) {
      expect(parentOf(byName(spans, name))).toBe(server.spanContext().spanId);
    }
    expect(byName(spans, 'tollgate.access.oidc').attributes).toMatchObject({ 'tollgate.plugin.name': 'oidc', 'tollgate.plugin.outcome': 'ok' });

    // The upstream try: a CLIENT span under upstream-proxy's access span, and the upstream's parent.
    const client = spans.find((s) => s.kind === SpanKind.CLIENT && s.attributes['server.port'] === Number(new URL(echo.url).port))!;
    expect(parentOf(client)).toBe(byName(spans, 'tollgate.access.upstream-proxy').spanContext().spanId);
    expect(client.attributes).toMatchObject({ 'http.request.method': 'GET', 'http.response.status_code': 200, 'server.address': '127.0.0.1', 'url.full': `${echo.url}/get?secret=REDACTED` });
    expect(res.body.headers.traceparent).toBe(`00-${CALLER_TRACE}-${client.spanContext().spanId}-01`);
    expect(res.body.headers.tracestate).toBe('vendor=1');

    // IdP calls the request waited for: CLIENT spans under the oidc access span.
    const idpCalls = spans.filter((s) => s.attributes['tollgate.idp.endpoint'] !== undefined);
    expect(idpCalls.map((s) => [s.name, s.attributes['tollgate.idp.endpoint'], s.attributes['http.response.status_code']])).toEqual([
      ['GET', 'discovery', 200],
      ['POST', 'token', 200],
    ]);
    for (const call of idpCalls) {
      expect(call.kind).toBe(SpanKind.CLIENT);
      expect(parentOf(call)).toBe(byName(spans, 'tollgate.access.oidc').spanContext().spanId);
    }
    // No token, secret or query value in any attribute.
    expect(JSON.stringify(spans.map((s) => s.attributes))).not.toMatch(/abc|Bearer|Basic/);
  });

  it('records a refusal on the plugin span with its code, and leaves the server span without error status for a 4xx', async () => {
    const app = walkthroughApp(otel({ tracerProvider: provider }));
    await request(app).get('/httpbin/get').auth('svc', 'wrong').expect(401);
    const spans = await spansOf('GET /httpbin');
    const access = byName(spans, 'tollgate.access.oidc');
    expect(access.attributes).toMatchObject({ 'tollgate.plugin.outcome': 'answered', 'http.response.status_code': 401, 'error.type': 'ERR_OIDC_CLIENT_REJECTED' });
    expect(access.status.code).toBe(SpanStatusCode.UNSET);
    const server = byName(spans, 'GET /httpbin');
    expect(server.attributes).toMatchObject({ 'http.response.status_code': 401, 'error.type': 'ERR_OIDC_CLIENT_REJECTED', 'tollgate.source': 'gateway' });
    expect(server.status.code).toBe(SpanStatusCode.UNSET);
    // The token call the IdP refused is an error on its CLIENT span.
    const token = spans.find((s) => s.attributes['tollgate.idp.endpoint'] === 'token')!;
    expect(token.attributes).toMatchObject({ 'http.response.status_code': 401, 'tollgate.idp.outcome': 'rejected' });
    expect(token.status.code).toBe(SpanStatusCode.ERROR);
    // Nothing continued: no traceparent came in, so the trace starts here.
    expect(parentOf(server)).toBeUndefined();
  });

  it("goes under the app's own server span when its HTTP instrumentation made one (registered provider, propagator and context manager)", async () => {
    provider.register();
    const app = express();
    const tracer = trace.getTracer('app');
    // What @opentelemetry/instrumentation-http does: a SERVER span, active while the request is handled.
    app.use((req, res, next) => {
      const span = tracer.startSpan('app server', { kind: SpanKind.SERVER }, propagation.extract(context.active(), req.headers));
      res.once('close', () => span.end());
      context.with(trace.setSpan(context.active(), span), next);
    });
    app.use(walkthroughApp(otel()));
    const res = await request(app).get('/httpbin/get').set('authorization', `Bearer ${await idp.sign({ aud: AUDIENCE })}`).set('traceparent', `00-${CALLER_TRACE}-${CALLER_SPAN}-01`).expect(200);
    const spans = await spansOf('app server');
    const appSpan = byName(spans, 'app server');
    const ours = byName(spans, 'tollgate');
    expect(ours.kind).toBe(SpanKind.INTERNAL);
    expect(parentOf(ours)).toBe(appSpan.spanContext().spanId);
    expect(spans.filter((s) => s.kind === SpanKind.SERVER)).toEqual([appSpan]);
    for (const span of spans) expect(span.spanContext().traceId).toBe(CALLER_TRACE);
    // The registered W3C propagator put the upstream try's context on the upstream request.
    const client = spans.find((s) => s.kind === SpanKind.CLIENT && s.attributes['tollgate.idp.endpoint'] === undefined)!;
    expect(res.body.headers.traceparent).toBe(`00-${CALLER_TRACE}-${client.spanContext().spanId}-01`);
    // Bearer verification fetched discovery and the keys: traced too.
    expect(spans.filter((s) => s.attributes['tollgate.idp.endpoint'] !== undefined).map((s) => s.attributes['tollgate.idp.endpoint'])).toEqual(['discovery', 'jwks']);
  });

  it('refuses options it cannot use, naming the option', () => {
    expect(configError(() => otel({ tracerProvider: {} as never })).option).toBe('tracerProvider');
    expect(configError(() => otel({ provider } as never)).option).toBe('provider');
  });
});

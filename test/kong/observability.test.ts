/**
 * Kong's prometheus and opentelemetry plugins in a decK file: metrics on prom-client's default
 * registry, spans on the provider the app's OpenTelemetry SDK registered.
 */
import { SpanKind, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import express from 'express';
import { register } from 'prom-client';
import request from 'supertest';
import { fromKong, type KongGateway } from 'tollgate/kong';
import { createEchoUpstream, type EchoUpstream } from 'tollgate/testing';

describe('fromKong with prometheus and opentelemetry', () => {
  let upstream: EchoUpstream;
  let kong: KongGateway;
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

  beforeAll(async () => {
    trace.setGlobalTracerProvider(provider);
    upstream = await createEchoUpstream();
    kong = fromKong(`_format_version: "3.0"
services:
  - name: echo
    url: ${upstream.url}
    routes:
      - { name: echo-route, paths: [/echo] }
plugins:
  - { name: prometheus, config: { per_consumer: false, status_code_metrics: true } }
  - { name: opentelemetry, config: { traces_endpoint: "http://collector:4318/v1/traces" } }
`);
  });

  afterAll(async () => {
    await kong.close();
    await upstream.close();
    trace.disable();
  });

  it('maps both, saying what is done differently in process', () => {
    const messages = kong.report.map((f) => `${f.path}: ${f.message}`).join('\n');
    expect(messages).toMatch(/prom-client's default registry/);
    expect(messages).toMatch(/traces_endpoint: exporting is your OpenTelemetry SDK's job/);
  });

  it('counts the proxied request on the default registry and traces it', async () => {
    const app = express().use(kong.express());
    expect((await request(app).get('/echo/get')).status).toBe(200);
    expect((await request(app).get('/nowhere')).status).toBe(404);
    const metrics = await register.metrics();
    expect(metrics).toMatch(/tollgate_http_requests_total\{[^}]*code="200"[^}]*source="upstream"[^}]*\} 1/);
    const names = exporter.getFinishedSpans().map((s) => s.name);
    expect(names.some((n) => n.startsWith('tollgate.access.'))).toBe(true);
    expect(exporter.getFinishedSpans().some((s) => s.kind === SpanKind.CLIENT && s.attributes['http.response.status_code'] === 200)).toBe(true);
  });
});

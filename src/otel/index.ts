/**
 * `tollgate/otel`: OpenTelemetry spans for what the gateway does, over `@opentelemetry/api` (an
 * optional peer dependency, loaded only by this entry point; without an SDK registered, every
 * call is a no-op).
 *
 * The plugin listens to tollgate's diagnostics channels and turns what it sees, for the requests
 * that pass through a gateway it is mounted in, into spans with the stable HTTP semantic
 * conventions (`http.request.method`, `http.response.status_code`, `server.address`, `url.full`,
 * `error.type`; Kong still uses the pre-1.21 names):
 * - one span per request: a SERVER span `GET /route` continuing the caller's `traceparent`, or,
 *   when the app's own HTTP instrumentation already made a server span, an INTERNAL span
 *   `tollgate` under it;
 * - one span per plugin phase that ran: `tollgate.access.<plugin>`, `tollgate.header_filter.<plugin>`
 *   (as Kong traces access and header_filter; the body phase runs per chunk, the log phase after
 *   the response), with the outcome, the status and error code the plugin answered with;
 * - one CLIENT span per upstream try, whose context goes upstream as `traceparent`/`tracestate`,
 *   and one per identity-provider call (discovery, JWKS, token, introspection).
 *
 * @example
 * ```ts
 * import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
 * import { otel } from 'tollgate/otel';
 *
 * const provider = new NodeTracerProvider({ spanProcessors: [processor] });
 * provider.register();
 * app.use('/httpbin', gateway(otel(), oidc({ issuer }), upstreamProxy({ url })));
 * ```
 * @see https://opentelemetry.io/docs/specs/semconv/http/http-spans/
 * @packageDocumentation
 * @module tollgate/otel
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type TracerProvider } from '@opentelemetry/api';
import type { RequestContext } from '../core/context';
import { idpChannel, pluginChannel, upstreamChannel, type IdpCallMessage, type PluginPhaseMessage, type UpstreamTryMessage } from '../core/diagnostics';
import { ConfigError } from '../core/errors';
import { internal } from '../core/gateway-context';
import { definePlugin, type Plugin } from '../core/plugin';
import { extract, inject } from './w3c';

/** What `otel()` takes. */
export interface OtelOptions {
  /**
   * Where spans go.
   * @defaultValue the global provider (`trace.getTracerProvider()`: what the SDK's `register()` set)
   */
  tracerProvider?: TracerProvider;
}

/** The resolved options (none to speak of: the provider is kept apart, a config is frozen). */
export type OtelConfig = Readonly<Record<string, never>>;

/** The otel plugin, plus `close()` to stop listening to tollgate's channels. */
export interface OtelPlugin extends Plugin<OtelConfig> {
  /** Stops listening to the diagnostics channels. */
  close(): void;
}

const NAME = 'opentelemetry';
const PHASE_NAMES: Partial<Record<PluginPhaseMessage['phase'], string>> = { access: 'access', headerFilter: 'header_filter' };
const KNOWN_METHODS: ReadonlySet<string> = new Set(['CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'TRACE']);

/** `http.request.method` as the conventions want it: a known method, else `_OTHER` and the original. */
function methodAttributes(method: string): Attributes {
  return KNOWN_METHODS.has(method) ? { 'http.request.method': method } : { 'http.request.method': '_OTHER', 'http.request.method_original': method };
}

/** One traced request: its span, the context children start from, the access phase under way. */
interface Traced {
  readonly span: Span;
  readonly context: Context;
  access: Context | undefined;
}

/**
 * Traces requests with OpenTelemetry. Mount it in each gateway to be traced; it runs first, so
 * every plugin phase after it is a child of the request's span.
 *
 * Spans are made only for requests through a gateway this plugin is in; identity-provider calls
 * only while such a request waits for them (one made at boot by `oidc(...).ready()` is not).
 */
export function otel(options: OtelOptions = {}): OtelPlugin {
  if (typeof options !== 'object' || options === null) throw new ConfigError('otel: the options must be an object', '');
  for (const key of Object.keys(options)) if (key !== 'tracerProvider') throw new ConfigError(`otel: unknown option "${key}"`, key);
  const provider = options.tracerProvider;
  if (provider !== undefined && typeof provider.getTracer !== 'function') throw new ConfigError('otel: "tracerProvider" must be an OpenTelemetry TracerProvider', 'tracerProvider');
  const tracer = (provider ?? trace.getTracerProvider()).getTracer('tollgate');

  const requests = new WeakMap<RequestContext, Traced>();
  const spans = new WeakMap<object, Span>();
  // The context of the plugin phase under way, for what it awaits: IdP calls have no request of
  // their own, they run in the async context of the phase that made them.
  const phaseContext = new AsyncLocalStorage<Context | undefined>();

  const phaseStarted = (message: PluginPhaseMessage): Context | undefined => {
    const traced = requests.get(message.ctx);
    if (traced === undefined) return undefined;
    const phase = PHASE_NAMES[message.phase];
    if (phase === undefined || message.plugin === NAME) return traced.context;
    const span = tracer.startSpan(
      `tollgate.${phase}.${message.plugin}`,
      { kind: SpanKind.INTERNAL, attributes: { 'tollgate.plugin.name': message.plugin, 'tollgate.plugin.phase': phase } },
      traced.context,
    );
    spans.set(message, span);
    const inside = trace.setSpan(traced.context, span);
    if (message.phase === 'access') traced.access = inside;
    return inside;
  };

  const phaseEnded = (m: unknown): void => {
    const message = m as PluginPhaseMessage;
    const span = spans.get(message);
    if (span === undefined) return;
    spans.delete(message);
    span.setAttribute('tollgate.plugin.outcome', message.outcome ?? 'ok');
    if (message.status !== undefined) span.setAttribute('http.response.status_code', message.status);
    if (message.code !== undefined) span.setAttribute('error.type', message.code);
    if (message.outcome === 'error' || (message.status ?? 0) >= 500) span.setStatus({ code: SpanStatusCode.ERROR, ...(message.code ? { message: message.code } : {}) });
    span.end();
    const traced = requests.get(message.ctx);
    if (traced !== undefined && message.phase === 'access') traced.access = undefined;
  };

  const tryStarted = (m: unknown): void => {
    const message = m as UpstreamTryMessage;
    const traced = requests.get(message.ctx);
    if (traced === undefined) return;
    const parent = traced.access ?? traced.context;
    const span = tracer.startSpan(
      methodAttributes(message.method)['http.request.method'] === '_OTHER' ? 'HTTP' : message.method,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          ...methodAttributes(message.method),
          'server.address': message.serverAddress,
          'server.port': message.serverPort,
          'url.full': message.url,
          ...(message.attempt > 1 ? { 'http.request.resend_count': message.attempt - 1 } : {}),
        },
      },
      parent,
    );
    spans.set(message, span);
    // The upstream sees this try as its parent: its spans join the caller's trace.
    inject(trace.setSpan(parent, span), (name, value) => message.setHeader(name, value));
  };

  const tryEnded = (m: unknown): void => {
    const message = m as UpstreamTryMessage;
    const span = spans.get(message);
    if (span === undefined) return;
    spans.delete(message);
    endClientSpan(span, message.status, message.errorKind ?? (message.outcome === 'aborted' ? 'aborted' : undefined), message.outcome === 'error');
  };

  const idpStarted = (m: unknown): void => {
    const parent = phaseContext.getStore();
    if (parent === undefined) return;
    const message = m as IdpCallMessage;
    const url = new URL(message.url);
    const span = tracer.startSpan(
      message.method,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          ...methodAttributes(message.method),
          'server.address': url.hostname,
          'server.port': Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
          'url.full': message.url,
          'tollgate.idp.endpoint': message.endpoint,
        },
      },
      parent,
    );
    spans.set(message, span);
  };

  const idpEnded = (m: unknown): void => {
    const message = m as IdpCallMessage;
    const span = spans.get(message);
    if (span === undefined) return;
    spans.delete(message);
    span.setAttribute('tollgate.idp.outcome', message.outcome ?? 'ok');
    endClientSpan(span, message.status, message.outcome !== 'ok' ? (message.code ?? message.outcome) : undefined, message.outcome !== 'ok');
  };

  const plugin = definePlugin<OtelConfig>({
    name: NAME,
    // First of all: every phase after it is traced, and its own log phase ends the request's span.
    priority: 1_000_000,
    config: {},
    access(ctx) {
      const active = context.active();
      // The app's HTTP instrumentation made a server span: ours goes under it, not beside it.
      const server = trace.getSpan(active) === undefined;
      const parent = server ? extract(ROOT_CONTEXT, ctx.request.headers) : active;
      const req = ctx.request;
      const span = tracer.startSpan(
        server ? `${req.method} ${req.route}` : 'tollgate',
        {
          kind: server ? SpanKind.SERVER : SpanKind.INTERNAL,
          // When the gateway began, on the wall clock the SDK dates spans with.
          startTime: Date.now() - (performance.now() - ctx.timings.start),
          attributes: {
            ...methodAttributes(req.method),
            'http.route': req.route,
            'url.path': req.originalPath,
            'url.scheme': req.protocol,
            'server.address': req.host.replace(/:\d+$/, ''),
            'client.address': req.ip,
          },
        },
        parent,
      );
      requests.set(ctx, { span, context: trace.setSpan(parent, span), access: undefined });
    },
    log(ctx) {
      const traced = requests.get(ctx);
      if (traced === undefined) return;
      requests.delete(ctx);
      const span = traced.span;
      const status = ctx.response.headersSent ? ctx.response.status : 499;
      const g = internal(ctx);
      span.setAttribute('http.response.status_code', status);
      span.setAttribute('tollgate.source', g.answeredBy ?? 'app');
      if (g.errorCode !== undefined) span.setAttribute('error.type', g.errorCode);
      // Server spans: a 4xx is the client's doing, not an error of the server.
      if (status >= 500) {
        if (g.errorCode === undefined) span.setAttribute('error.type', String(status));
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
    },
  });

  pluginChannel.start.bindStore(phaseContext as AsyncLocalStorage<object>, phaseStarted as (m: PluginPhaseMessage) => object);
  pluginChannel.end.subscribe(phaseEnded);
  upstreamChannel.start.subscribe(tryStarted);
  upstreamChannel.end.subscribe(tryEnded);
  idpChannel.start.subscribe(idpStarted);
  idpChannel.end.subscribe(idpEnded);
  let open = true;
  return Object.freeze({
    ...plugin,
    close() {
      if (!open) return;
      open = false;
      pluginChannel.start.unbindStore(phaseContext as AsyncLocalStorage<object>);
      pluginChannel.end.unsubscribe(phaseEnded);
      upstreamChannel.start.unsubscribe(tryStarted);
      upstreamChannel.end.unsubscribe(tryEnded);
      idpChannel.start.unsubscribe(idpStarted);
      idpChannel.end.unsubscribe(idpEnded);
    },
  });
}

/** Ends a CLIENT span: its status code, and Error for a failure or a 4xx/5xx (client spans count both). */
function endClientSpan(span: Span, status: number | undefined, errorType: string | undefined, failed: boolean): void {
  if (status !== undefined) span.setAttribute('http.response.status_code', status);
  const type = errorType ?? (status !== undefined && status >= 400 ? String(status) : undefined);
  if (type !== undefined) span.setAttribute('error.type', type);
  if (failed || (status !== undefined && status >= 400)) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}

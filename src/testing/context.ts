/**
 * In-process contexts for unit-testing plugins with no server: `createTestContext()` and
 * `runPlugin()`.
 */
import type { OutgoingHttpHeader } from 'node:http';
import { isReadable, type Consumer, type Credential, type RequestContext, type RequestView, type ResponseView, type SharedState } from '../core/context';
import { GatewayContext, internal } from '../core/gateway-context';
import { getLogger, type Logger } from '../core/logger';
import { parseQuery } from '../core/node-request';
import { normalizePath, underMount } from '../core/path';
import { runLog } from '../core/phases';
import { Pipeline } from '../core/pipeline';
import type { AnyPlugin } from '../core/plugin';
import { prepareAnswer } from '../core/respond';
import { requestChannel } from '../core/diagnostics';
import { RequestTrace } from '../core/trace';

/** What a test request looks like; everything has a default. */
export interface TestRequestOptions {
  /** @defaultValue `'GET'` */
  method?: string;
  /** Path and query as the client sent them. @defaultValue `'/'` */
  url?: string;
  /** The mount prefix the gateway would be under (`/httpbin`). @defaultValue `''` */
  mountPath?: string;
  /** The route the framework would have matched (`/users/:id`). @defaultValue `mountPath`, or `'/'` */
  route?: string;
  headers?: Record<string, string | string[]>;
  /** @defaultValue `'127.0.0.1'` */
  ip?: string;
  /** @defaultValue `'http'` */
  protocol?: string;
  /** @defaultValue `'localhost'` */
  host?: string;
  consumer?: Consumer;
  credential?: Credential;
  shared?: Partial<SharedState>;
  /** Where plugins report (`ctx.log`). @defaultValue the logger `setLogger` set */
  logger?: Logger;
}

class MemoryRequestView implements RequestView {
  readonly method: string;
  readonly originalPath: string;
  readonly path: string;
  readonly mountPath: string;
  readonly route: string;
  search: string;
  query: Record<string, string | string[]> = {};
  readonly ip: string;
  readonly protocol: string;
  readonly host: string;
  readonly headers: Record<string, string | string[] | undefined> = {};

  constructor(o: TestRequestOptions) {
    const url = o.url ?? '/';
    const q = url.indexOf('?');
    this.method = (o.method ?? 'GET').toUpperCase();
    // The same normal form as a server request (see RequestView.originalPath).
    this.originalPath = normalizePath(q === -1 ? url : url.slice(0, q));
    this.mountPath = o.mountPath ? normalizePath(o.mountPath) : '';
    this.path = underMount(this.originalPath, this.mountPath) ?? this.originalPath;
    this.route = o.route ?? (this.mountPath || '/');
    this.search = '';
    this.setSearch(q === -1 ? '' : url.slice(q));
    this.ip = o.ip ?? '127.0.0.1';
    this.protocol = o.protocol ?? 'http';
    this.host = o.host ?? 'localhost';
    for (const [k, v] of Object.entries(o.headers ?? {})) this.headers[k.toLowerCase()] = v;
    this.headers.host ??= this.host;
  }
  header(name: string) {
    const value = this.headers[name.toLowerCase()];
    return Array.isArray(value) ? value.join(', ') : value;
  }
  setHeader(name: string, value: string) {
    this.headers[name.toLowerCase()] = value;
  }
  removeHeader(name: string) {
    delete this.headers[name.toLowerCase()];
  }
  setSearch(search: string) {
    this.search = search.replace(/^\?/, '');
    this.query = parseQuery(this.search);
  }
}

class MemoryResponseView implements ResponseView {
  status = 200;
  headersSent = false;
  private readonly headers = new Map<string, OutgoingHttpHeader>();
  getHeader(name: string) {
    return this.headers.get(name.toLowerCase());
  }
  setHeader(name: string, value: OutgoingHttpHeader) {
    if (!this.headersSent) this.headers.set(name.toLowerCase(), value);
  }
  removeHeader(name: string) {
    if (!this.headersSent) this.headers.delete(name.toLowerCase());
  }
  getHeaders() {
    return Object.fromEntries(this.headers);
  }
}

/**
 * A request context with no server behind it, for unit tests.
 *
 * @example
 * ```ts
 * const ctx = createTestContext({ url: '/orders?page=2', headers: { 'x-tenant': 'acme' } });
 * ```
 */
export function createTestContext(options: TestRequestOptions = {}): RequestContext {
  const ctx = new GatewayContext(new MemoryRequestView(options), new MemoryResponseView(), undefined, options.logger ?? getLogger());
  ctx.consumer = options.consumer;
  ctx.credential = options.credential;
  Object.assign(ctx.shared, options.shared ?? {});
  return ctx;
}

/** The response a handler would have produced, for `runPlugin` to pass through the filters. */
export interface TestUpstreamResponse {
  /** @defaultValue 200 */
  status?: number;
  headers?: Record<string, OutgoingHttpHeader>;
  /** JSON-serialisable value, string or bytes. */
  body?: unknown;
}

/** What a client would have received. */
export interface TestResult {
  status: number;
  /** Lower-cased response headers. */
  headers: Record<string, OutgoingHttpHeader | undefined>;
  /** The body: parsed when it is JSON, a string when text, otherwise a Buffer. */
  body: unknown;
  /** True when an `access` hook ended the request. */
  exited: boolean;
  /** The context, for assertions on consumer, shared state and so on. */
  ctx: RequestContext;
}

/**
 * Runs one plugin (or several, in priority order) over a context: the access phase, then either
 * the early exit or `response` (the handler's answer) through `headerFilter`, `bodyFilter` and `log`.
 *
 * @example
 * ```ts
 * const result = await runPlugin(rateLimit({ minute: 1 }), createTestContext());
 * expect(result.headers['x-ratelimit-remaining-minute']).toBe('0');
 * ```
 */
export async function runPlugin(
  plugins: AnyPlugin | AnyPlugin[],
  context: RequestContext = createTestContext(),
  response: TestUpstreamResponse = {},
): Promise<TestResult> {
  const ctx = internal(context);
  const pipeline = new Pipeline(Array.isArray(plugins) ? plugins : [plugins], 'runPlugin');
  // Published on tollgate:request as a gateway would (see captureEvents).
  const trace = requestChannel.hasSubscribers ? new RequestTrace(ctx) : undefined;
  await (trace ? trace.start(() => pipeline.runAccess(ctx)) : pipeline.runAccess(ctx));
  const exited = ctx.answer !== undefined;
  if (!exited) {
    // The handler's answer takes the path tollgate's own answers take: one response path.
    ctx.answer = { status: response.status ?? 200, headers: response.headers, body: response.body };
    ctx.answeredBy = 'app';
  }
  const { status, headers, body: prepared, sendBody } = prepareAnswer(ctx);
  const view = ctx.response as MemoryResponseView;
  // What a host would hand to writeHead: the head the client receives.
  view.status = status;
  for (const name in headers) view.setHeader(name, headers[name]!);
  view.headersSent = true;
  const bytes = !sendBody || prepared === undefined ? Buffer.alloc(0) : isReadable(prepared) ? await collect(prepared) : Buffer.from(prepared);
  await runLog(ctx);
  trace?.end();
  const type = String(view.getHeader('content-type') ?? '');
  const body = bytes.length === 0 ? undefined : /json/.test(type) ? JSON.parse(bytes.toString('utf8')) : /^text\//.test(type) ? bytes.toString('utf8') : bytes;
  return { status, headers: view.getHeaders(), body, exited, ctx };
}

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/**
 * In-process contexts for unit-testing plugins with no server: `createTestContext()` and
 * `runPlugin()`.
 */
import type { OutgoingHttpHeader } from 'node:http';
import { RequestContext, type Consumer, type Credential, type RequestView, type ResponseView, type SharedState } from '../core/context';
import { parseQuery, serializeBody } from '../core/node';
import { Pipeline, runBodyFilters, runHeaderFilters, runLog } from '../core/pipeline';
import type { AnyPlugin } from '../core/plugin';

/** What a test request looks like; everything has a default. */
export interface TestRequestOptions {
  /** @defaultValue `'GET'` */
  method?: string;
  /** Path and query as the client sent them. @defaultValue `'/'` */
  url?: string;
  /** The mount prefix the gateway would be under (`/httpbin`). @defaultValue `''` */
  mountPath?: string;
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
}

class MemoryRequestView implements RequestView {
  readonly method: string;
  readonly originalPath: string;
  readonly path: string;
  readonly mountPath: string;
  search: string;
  query: Record<string, string | string[]> = {};
  readonly ip: string;
  readonly protocol: string;
  readonly host: string;
  readonly headers: Record<string, string | string[] | undefined> = {};

  constructor(o: TestRequestOptions) {
    const url = new URL(o.url ?? '/', 'http://test.invalid');
    this.method = (o.method ?? 'GET').toUpperCase();
    this.originalPath = url.pathname;
    this.mountPath = o.mountPath ?? '';
    this.path = this.originalPath.startsWith(this.mountPath) ? this.originalPath.slice(this.mountPath.length) || '/' : this.originalPath;
    this.search = '';
    this.setSearch(url.search);
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
  const ctx = new RequestContext(new MemoryRequestView(options), new MemoryResponseView());
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
  ctx: RequestContext = createTestContext(),
  response: TestUpstreamResponse = {},
): Promise<TestResult> {
  const pipeline = new Pipeline(Array.isArray(plugins) ? plugins : [plugins], 'runPlugin');
  await pipeline.runAccess(ctx);
  const answer = ctx.exited ?? { status: response.status ?? 200, headers: response.headers, body: response.body };
  const res = ctx.response;
  res.status = answer.status;
  for (const [k, val] of Object.entries(answer.headers ?? {})) if (val !== undefined) res.setHeader(k, val);
  const serialized = serializeBody(answer.body);
  if (serialized && res.getHeader('content-type') === undefined) res.setHeader('content-type', serialized.type);
  runHeaderFilters(ctx);
  (res as { headersSent: boolean }).headersSent = true;
  let bytes: Buffer = serialized ? Buffer.from(serialized.payload) : Buffer.alloc(0);
  if (ctx.hasBodyFilter) bytes = runBodyFilters(ctx, bytes, true);
  await runLog(ctx);
  const type = String(res.getHeader('content-type') ?? '');
  const body = bytes.length === 0 ? undefined : /json/.test(type) ? JSON.parse(bytes.toString('utf8')) : /^text\//.test(type) ? bytes.toString('utf8') : bytes;
  return { status: res.status, headers: res.getHeaders(), body, exited: ctx.exited !== undefined, ctx };
}

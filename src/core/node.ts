/**
 * What both adapters share over Node's own `req`/`res`: the context's views of them, the hooks that
 * run `headerFilter`, `bodyFilter` and `log` whoever writes the response (an Express route, Koa's
 * respond, the upstream proxy, a cache hit), and the writer of early exits.
 *
 * Patching the instance's `writeHead`/`write`/`end` is how compression and on-headers do it: it is
 * the one point every response in Node passes through, streamed or not.
 */
import type { IncomingMessage, OutgoingHttpHeader, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { RequestContext, type RequestView, type ResponseView } from './context';
import { runBodyFilters, runHeaderFilters } from './pipeline';

const CONTEXT = Symbol.for('tollgate.context');
type WithContext = IncomingMessage & { [CONTEXT]?: RequestContext };

/** The context already attached to this request, if a gateway ran on it. */
export function contextOf(req: IncomingMessage): RequestContext | undefined {
  return (req as WithContext)[CONTEXT];
}

/**
 * How an adapter answers what only the framework knows (the client ip and protocol honour its
 * trust-proxy setting). Called lazily and at most once per request: `req.ip` in Express parses
 * X-Forwarded-For, and most requests through an auth-only gateway never need it.
 */
export interface FrameworkFacts<O> {
  ip(origin: O): string;
  protocol(origin: O): string;
  host(origin: O): string;
}

function parseQuery(search: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null);
  if (!search) return out;
  for (const [k, v] of new URLSearchParams(search)) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

/** A {@link RequestView} over Node's request. */
class NodeRequestView<O> implements RequestView {
  readonly method: string;
  readonly originalPath: string;
  search: string;
  private parsedQuery?: Record<string, string | string[]>;
  private cachedIp?: string;
  private cachedProtocol?: string;
  private cachedHost?: string;

  constructor(
    private readonly req: IncomingMessage,
    private readonly origin: O,
    private readonly facts: FrameworkFacts<O>,
    public path: string,
    public mountPath: string,
    originalUrl: string,
  ) {
    this.method = (req.method ?? 'GET').toUpperCase();
    const q = originalUrl.indexOf('?');
    this.originalPath = q === -1 ? originalUrl : originalUrl.slice(0, q);
    this.search = q === -1 ? '' : originalUrl.slice(q + 1);
  }
  get ip() {
    return (this.cachedIp ??= this.facts.ip(this.origin));
  }
  get protocol() {
    return (this.cachedProtocol ??= this.facts.protocol(this.origin));
  }
  get host() {
    return (this.cachedHost ??= this.facts.host(this.origin));
  }
  get headers() {
    return this.req.headers;
  }
  get query() {
    return (this.parsedQuery ??= parseQuery(this.search));
  }
  header(name: string): string | undefined {
    const value = this.req.headers[name.toLowerCase()];
    return Array.isArray(value) ? value.join(', ') : value;
  }
  setHeader(name: string, value: string): void {
    this.req.headers[name.toLowerCase()] = value;
  }
  removeHeader(name: string): void {
    delete this.req.headers[name.toLowerCase()];
  }
  setSearch(search: string): void {
    this.search = search.replace(/^\?/, '');
    this.parsedQuery = undefined;
  }
}

/** A {@link ResponseView} over Node's response. */
class NodeResponseView implements ResponseView {
  constructor(private readonly res: ServerResponse) {}
  get status() {
    return this.res.statusCode;
  }
  set status(code: number) {
    this.res.statusCode = code;
  }
  get headersSent() {
    return this.res.headersSent;
  }
  getHeader(name: string) {
    return this.res.getHeader(name) as OutgoingHttpHeader | undefined;
  }
  setHeader(name: string, value: OutgoingHttpHeader) {
    if (!this.res.headersSent) this.res.setHeader(name, value);
  }
  removeHeader(name: string) {
    if (!this.res.headersSent) this.res.removeHeader(name);
  }
  getHeaders() {
    return this.res.getHeaders() as Record<string, OutgoingHttpHeader | undefined>;
  }
}

/**
 * The context of this request: the one an earlier gateway attached (re-anchored to this gateway's
 * mount point), or a new one with the response hooks installed.
 *
 * @param origin - what `facts` reads the framework's answers from (Express's req, Koa's ctx)
 * @param path - the path relative to this gateway's mount point, without the query
 * @param mountPath - the prefix this gateway is mounted under (`/httpbin`), or ''
 * @param originalUrl - the client's URL (path and query) before any mount stripping
 */
export function attachContext<O>(
  req: IncomingMessage,
  res: ServerResponse,
  origin: O,
  facts: FrameworkFacts<O>,
  path: string,
  mountPath: string,
  originalUrl: string,
): RequestContext {
  const existing = (req as WithContext)[CONTEXT];
  if (existing) {
    // A later gateway mounted elsewhere (`app.use('/httpbin', gateway(...))` after a root one)
    // sees the request relative to its own mount point.
    const view = existing.request;
    if (view instanceof NodeRequestView) {
      view.path = path;
      view.mountPath = mountPath;
    }
    return existing;
  }
  const ctx = new RequestContext(new NodeRequestView(req, origin, facts, path, mountPath, originalUrl), new NodeResponseView(res), { req, res });
  (req as WithContext)[CONTEXT] = ctx;
  hookResponse(ctx, res);
  return ctx;
}

function applyHeaders(res: ServerResponse, headers: OutgoingHttpHeaders | OutgoingHttpHeader[] | undefined): void {
  if (!headers) return;
  if (Array.isArray(headers)) {
    // [[name, value], …] or the flat raw form [name, value, name, value, …]
    const pairs: [string, string][] = Array.isArray(headers[0])
      ? (headers as unknown as [string, string][])
      : Array.from({ length: headers.length / 2 }, (_, i) => [String(headers[2 * i]), String(headers[2 * i + 1])]);
    const seen = new Set<string>();
    for (const [name, value] of pairs) {
      const key = name.toLowerCase();
      const prev = res.getHeader(key);
      if (seen.has(key) && prev !== undefined) res.setHeader(key, [...(Array.isArray(prev) ? prev : [String(prev)]), value]);
      else res.setHeader(key, value);
      seen.add(key);
    }
    return;
  }
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) res.setHeader(name, value);
}

const toBuffer = (chunk: unknown, encoding?: unknown): Buffer =>
  Buffer.isBuffer(chunk)
    ? chunk
    : typeof chunk === 'string'
      ? Buffer.from(chunk, (typeof encoding === 'string' ? encoding : 'utf8') as BufferEncoding)
      : Buffer.from(chunk as Uint8Array);

type Write = (this: ServerResponse, ...args: unknown[]) => boolean;
type End = (this: ServerResponse, ...args: unknown[]) => ServerResponse;
type WriteHead = (this: ServerResponse, status: number, reason?: string, headers?: unknown) => ServerResponse;

/** What one hooked response remembers: its context and the methods the hooks wrap. */
interface Hooks {
  readonly ctx: RequestContext;
  filtered: boolean;
  readonly writeHead: WriteHead;
  readonly write: Write;
  readonly end: End;
}

const HOOKS = Symbol('tollgate.hooks');
type Hooked = ServerResponse & { [HOOKS]: Hooks };

function headerPhase(hooks: Hooks): void {
  if (hooks.filtered) return;
  hooks.filtered = true;
  runHeaderFilters(hooks.ctx);
}

// The wrappers are shared by every response (one state object per response instead of a closure
// per method): this code runs on every request, and allocations here show up as GC time.
function hookedWriteHead(this: Hooked, status: number, reason?: unknown, headers?: unknown): ServerResponse {
  const hooks = this[HOOKS];
  if (typeof reason !== 'string') {
    headers = reason;
    reason = undefined;
  }
  if (!hooks.filtered) {
    applyHeaders(this, headers as OutgoingHttpHeaders | undefined);
    headers = undefined;
    this.statusCode = status;
    headerPhase(hooks);
  }
  return hooks.writeHead.call(this, this.statusCode, (reason as string | undefined) ?? (this.statusMessage || undefined), headers);
}

function hookedWrite(this: Hooked, chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
  const hooks = this[HOOKS];
  if (!hooks.ctx.hasBodyFilter || chunk === undefined || chunk === null) return hooks.write.call(this, chunk, encoding, cb);
  if (!this.headersSent) headerPhase(hooks);
  const out = runBodyFilters(hooks.ctx, toBuffer(chunk, encoding), false);
  return hooks.write.call(this, out, typeof encoding === 'function' ? encoding : cb);
}

function hookedEnd(this: Hooked, chunk?: unknown, encoding?: unknown, cb?: unknown): ServerResponse {
  const hooks = this[HOOKS];
  if (!hooks.ctx.hasBodyFilter || this.writableEnded) return hooks.end.call(this, chunk, encoding, cb);
  if (typeof chunk === 'function') [cb, chunk] = [chunk, undefined];
  if (typeof encoding === 'function') [cb, encoding] = [encoding, undefined];
  if (!this.headersSent) headerPhase(hooks);
  const out = runBodyFilters(hooks.ctx, chunk === undefined || chunk === null ? Buffer.alloc(0) : toBuffer(chunk, encoding), true);
  return hooks.end.call(this, out.length > 0 ? out : undefined, cb);
}

/** Installs the phase hooks on one response. */
function hookResponse(ctx: RequestContext, res: ServerResponse): void {
  const hooked = res as Hooked;
  // The methods as they are now: Node's own, or another library's wrappers (compression, on-headers).
  hooked[HOOKS] = { ctx, filtered: false, writeHead: res.writeHead as WriteHead, write: res.write as Write, end: res.end as End };
  res.writeHead = hookedWriteHead as ServerResponse['writeHead'];
  res.write = hookedWrite as ServerResponse['write'];
  res.end = hookedEnd as ServerResponse['end'];
}

/** The bytes and content type of an exit body: JSON unless it is already bytes or text. */
export function serializeBody(body: unknown): { payload: Buffer | string; type: string } | undefined {
  if (body === undefined) return undefined;
  // No copy: a cache hit replays its stored bytes as they are.
  if (Buffer.isBuffer(body)) return { payload: body, type: 'application/octet-stream' };
  if (body instanceof Uint8Array) return { payload: Buffer.from(body.buffer, body.byteOffset, body.byteLength), type: 'application/octet-stream' };
  if (typeof body === 'string') return { payload: body, type: 'text/plain; charset=utf-8' };
  return { payload: JSON.stringify(body), type: 'application/json; charset=utf-8' };
}

/** Milliseconds since the request began, rounded, for the latency headers. */
export const elapsed = (ctx: RequestContext): number => Math.round(performance.now() - ctx.timings.start);

/** Writes the early response an `access` hook chose, through the response hooks. */
export function writeExit(ctx: RequestContext, res: ServerResponse): void {
  const exit = ctx.exited!;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.statusCode = exit.status;
  applyHeaders(res, exit.headers);
  const body = serializeBody(exit.body);
  if (body && !res.hasHeader('content-type')) res.setHeader('Content-Type', body.type);
  res.setHeader('Content-Length', body ? Buffer.byteLength(body.payload) : 0);
  res.setHeader('X-Tollgate-Response-Latency', String(elapsed(ctx)));
  res.end(ctx.request.method === 'HEAD' || !body ? undefined : body.payload);
}

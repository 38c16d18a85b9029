/**
 * What both adapters share over Node's own `req`/`res`: the context's views of them, the hooks that
 * run `headerFilter`, `bodyFilter` and `log` whoever writes the response (an Express route, Koa's
 * respond, the upstream proxy, a cache hit), and the writer of early exits.
 *
 * `writeHead`/`write`/`end` are the one point every response in Node passes through, streamed or
 * not; tollgate wraps them (see `installHooks` for where and why).
 */
import { ServerResponse, type IncomingMessage, type OutgoingHttpHeader, type OutgoingHttpHeaders } from 'node:http';
import { CONTEXT, contextOf, RequestContext, type RequestView, type ResponseView } from './context';
import { runBodyFilters, runHeaderFilters } from './pipeline';

type WithContext = IncomingMessage & { [CONTEXT]?: RequestContext };

export { contextOf };

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

/** Parses a query string without `?`; repeated names become arrays. */
export function parseQuery(search: string): Record<string, string | string[]> {
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
  const existing = contextOf(req);
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
  // The response hooks find the context through res.req: one property on one Node object.
  installHooks();
  (req as WithContext)[CONTEXT] = ctx;
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
  // for…in, not Object.entries: no pair arrays on every exit (a cache hit passes a dozen headers).
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined) res.setHeader(name, value);
  }
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

/** The context of the request a response answers (Node sets `res.req`), if a gateway ran on it. */
const contextOfResponse = (res: ServerResponse): RequestContext | undefined => contextOf(res.req);

function headerPhase(ctx: RequestContext): void {
  if (ctx.headerFiltered) return;
  ctx.headerFiltered = true;
  runHeaderFilters(ctx);
}

/**
 * Marks the prototype once per process, not per module instance: jest loads a module once per
 * test file, and an app may hold two copies of tollgate; wrapping twice would run the body phase
 * twice. The first copy's wrappers serve every copy's contexts (they only read `ctx`).
 */
const INSTALLED = Symbol.for('tollgate.response-hooks');

/**
 * Wraps `writeHead`, `write` and `end` of `http.ServerResponse.prototype`, once per process, the
 * first time a gateway handles a request.
 *
 * Why the prototype and not each response, as on-headers and compression do: a CPU profile of the
 * benchmark put assigning three methods to every response at ~4% of all the time a request took
 * (it reshapes an object that Node's http code then reads on every write). A response no gateway
 * touched pays two property reads in each wrapper. Libraries that wrap a response's methods per
 * instance still end up calling these, so their wrappers and ours compose.
 */
function installHooks(): void {
  const proto = ServerResponse.prototype as ServerResponse & { [INSTALLED]?: true };
  if (proto[INSTALLED]) return;
  proto[INSTALLED] = true;
  const writeHead = proto.writeHead as WriteHead;
  const write = proto.write as Write;
  const end = proto.end as End;

  proto.writeHead = function hookedWriteHead(this: ServerResponse, status: number, reason?: unknown, headers?: unknown): ServerResponse {
    const ctx = contextOfResponse(this);
    if (ctx === undefined || ctx.headerFiltered) return writeHead.call(this, status, reason as string | undefined, headers);
    if (!ctx.hasHeaderFilter) {
      // No plugin looks at the head: hand it to Node as it is (its fast path for a header object).
      ctx.headerFiltered = true;
      return writeHead.call(this, status, reason as string | undefined, headers);
    }
    if (typeof reason !== 'string') {
      headers = reason;
      reason = undefined;
    }
    // Headers passed here are applied first, so headerFilter sees (and may change) all of them.
    applyHeaders(this, headers as OutgoingHttpHeaders | undefined);
    // Only when it changes: a store to a response (whose shape Express varies) cost ~1% of a cache hit.
    if (this.statusCode !== status) this.statusCode = status;
    headerPhase(ctx);
    return writeHead.call(this, this.statusCode, (reason as string | undefined) ?? (this.statusMessage || undefined));
  } as ServerResponse['writeHead'];

  proto.write = function hookedWrite(this: ServerResponse, chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
    const ctx = contextOfResponse(this);
    if (ctx === undefined || !ctx.hasBodyFilter || chunk === undefined || chunk === null) return write.call(this, chunk, encoding, cb);
    // Node would send the head inside write(): run the header phase before the body phase.
    if (!this.headersSent) headerPhase(ctx);
    const out = runBodyFilters(ctx, toBuffer(chunk, encoding), false);
    return write.call(this, out, typeof encoding === 'function' ? encoding : cb);
  } as ServerResponse['write'];

  proto.end = function hookedEnd(this: ServerResponse, chunk?: unknown, encoding?: unknown, cb?: unknown): ServerResponse {
    const ctx = contextOfResponse(this);
    if (ctx === undefined || !ctx.hasBodyFilter || this.writableEnded) return end.call(this, chunk, encoding, cb);
    if (typeof chunk === 'function') [cb, chunk] = [chunk, undefined];
    if (typeof encoding === 'function') [cb, encoding] = [encoding, undefined];
    if (!this.headersSent) headerPhase(ctx);
    const out = runBodyFilters(ctx, chunk === undefined || chunk === null ? Buffer.alloc(0) : toBuffer(chunk, encoding), true);
    return end.call(this, out.length > 0 ? out : undefined, cb);
  } as ServerResponse['end'];
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
  const body = serializeBody(exit.body);
  // With a header phase to run, the exit's headers go straight onto the response (filters see
  // them there) and the head is written with none of its own; without one, they go to writeHead
  // as one object. Either way each header is handled once (a cache hit replays a dozen, and a
  // second pass over them showed in the profile). Names keep the case they were given in
  // (clients see `X-Cache-Status`, as Kong sends it).
  const filtered = ctx.hasHeaderFilter && !ctx.headerFiltered;
  const headers: OutgoingHttpHeaders = {};
  const put = filtered ? (name: string, value: OutgoingHttpHeader) => res.setHeader(name, value) : (name: string, value: OutgoingHttpHeader) => (headers[name] = value);
  let hasType = false;
  if (exit.headers) {
    for (const name in exit.headers) {
      const value = exit.headers[name];
      if (value === undefined) continue;
      // Only names of the three lengths that matter are lower-cased (one string less per header).
      const n = name.length;
      if (n === 12 || n === 14 || n === 27) {
        const lower = name.toLowerCase();
        if (lower === 'content-length' || lower === 'x-tollgate-response-latency') continue;
        if (lower === 'content-type') hasType = true;
      }
      put(name, value);
    }
  }
  if (body && !hasType && !res.hasHeader('content-type')) put('Content-Type', body.type);
  put('Content-Length', body ? Buffer.byteLength(body.payload) : 0);
  put('X-Tollgate-Response-Latency', String(elapsed(ctx)));
  if (filtered) {
    if (res.statusCode !== exit.status) res.statusCode = exit.status;
    headerPhase(ctx);
    res.writeHead(res.statusCode);
  } else {
    res.writeHead(exit.status, headers);
  }
  res.end(ctx.request.method === 'HEAD' || !body ? undefined : body.payload);
}

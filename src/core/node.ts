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
import { runBodyFilters, runHeaderFilters, runLog } from './pipeline';

const CONTEXT = Symbol.for('tollgate.context');
type WithContext = IncomingMessage & { [CONTEXT]?: RequestContext };

/** The context already attached to this request, if a gateway ran on it. */
export function contextOf(req: IncomingMessage): RequestContext | undefined {
  return (req as WithContext)[CONTEXT];
}

/** What an adapter knows about the request beyond Node's own object. */
export interface RequestFacts {
  ip: string;
  protocol: string;
  /** The path relative to the mount point, without the query. */
  path: string;
  /** The client's URL (path and query) before any mount stripping. */
  originalUrl: string;
  /** The prefix the gateway is mounted under (`/httpbin`), or ''. */
  mountPath: string;
  host: string;
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
class NodeRequestView implements RequestView {
  readonly method: string;
  readonly originalPath: string;
  readonly search: string;
  private parsedQuery?: Record<string, string | string[]>;

  constructor(
    private readonly req: IncomingMessage,
    private facts: RequestFacts,
  ) {
    this.method = (req.method ?? 'GET').toUpperCase();
    const q = facts.originalUrl.indexOf('?');
    this.originalPath = q === -1 ? facts.originalUrl : facts.originalUrl.slice(0, q);
    this.search = q === -1 ? '' : facts.originalUrl.slice(q + 1);
  }
  get mountPath() {
    return this.facts.mountPath;
  }
  /**
   * A later gateway mounted elsewhere (`app.use('/httpbin', gateway(...))` after a root one) sees
   * the request relative to its own mount point.
   */
  remount(facts: RequestFacts): void {
    if (facts.path !== this.facts.path || facts.mountPath !== this.facts.mountPath) this.facts = facts;
  }
  get path() {
    return this.facts.path;
  }
  get ip() {
    return this.facts.ip;
  }
  get protocol() {
    return this.facts.protocol;
  }
  get host() {
    return this.facts.host;
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
 * The context of this request: the one an earlier gateway attached, or a new one with the
 * response hooks installed. `facts` is called only when a new context is made.
 */
export function attachContext(req: IncomingMessage, res: ServerResponse, facts: () => RequestFacts): RequestContext {
  const existing = (req as WithContext)[CONTEXT];
  if (existing) {
    if (existing.request instanceof NodeRequestView) existing.request.remount(facts());
    return existing;
  }
  const ctx = new RequestContext(new NodeRequestView(req, facts()), new NodeResponseView(res), { req, res });
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

/** Installs the phase hooks on one response. */
function hookResponse(ctx: RequestContext, res: ServerResponse): void {
  let filtered = false;
  const headerPhase = () => {
    if (filtered) return;
    filtered = true;
    runHeaderFilters(ctx);
  };
  const writeHead = res.writeHead;
  res.writeHead = function (this: ServerResponse, status: number, reason?: unknown, headers?: unknown) {
    if (typeof reason !== 'string') {
      headers = reason;
      reason = undefined;
    }
    if (!filtered) {
      applyHeaders(res, headers as OutgoingHttpHeaders | undefined);
      headers = undefined;
      res.statusCode = status;
      headerPhase();
    }
    return (writeHead as (s: number, r?: string, h?: unknown) => ServerResponse).call(
      this,
      res.statusCode,
      (reason as string | undefined) ?? (res.statusMessage || undefined),
      headers,
    );
  } as ServerResponse['writeHead'];

  const write = res.write;
  const end = res.end;
  res.write = function (this: ServerResponse, chunk: unknown, encoding?: unknown, cb?: unknown) {
    if (!ctx.hasBodyFilter || chunk === undefined || chunk === null) return (write as (...a: unknown[]) => boolean).apply(this, [chunk, encoding, cb]);
    if (!res.headersSent) headerPhase();
    const out = runBodyFilters(ctx, toBuffer(chunk, encoding), false);
    return (write as (...a: unknown[]) => boolean).call(this, out, typeof encoding === 'function' ? encoding : cb);
  } as ServerResponse['write'];
  res.end = function (this: ServerResponse, chunk?: unknown, encoding?: unknown, cb?: unknown) {
    if (!ctx.hasBodyFilter || res.writableEnded) return (end as (...a: unknown[]) => ServerResponse).apply(this, [chunk, encoding, cb]);
    if (typeof chunk === 'function') [cb, chunk] = [chunk, undefined];
    if (typeof encoding === 'function') [cb, encoding] = [encoding, undefined];
    if (!res.headersSent) headerPhase();
    const out = runBodyFilters(ctx, chunk === undefined || chunk === null ? Buffer.alloc(0) : toBuffer(chunk, encoding), true);
    return (end as (...a: unknown[]) => ServerResponse).call(this, out.length > 0 ? out : undefined, cb);
  } as ServerResponse['end'];

  res.once('close', () => {
    void runLog(ctx);
  });
}

/** The bytes and content type of an exit body: JSON unless it is already bytes or text. */
export function serializeBody(body: unknown): { payload: Buffer | string; type: string } | undefined {
  if (body === undefined) return undefined;
  if (Buffer.isBuffer(body) || body instanceof Uint8Array) return { payload: Buffer.from(body), type: 'application/octet-stream' };
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

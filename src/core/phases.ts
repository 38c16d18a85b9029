/**
 * The phases after access: `headerFilter`, `bodyFilter` and `log`, run over the plugins that ran
 * for a request, and the two ways they reach a response.
 *
 * - What tollgate writes itself (exits, cache hits, errors, proxied responses) runs them directly,
 *   in respond.ts.
 * - A response the app writes on Node's `res` (an Express route) is intercepted per response, and
 *   only when a plugin with a header or body phase ran for the request: `interceptResponse` wraps
 *   that one response's `writeHead`, `write` and `end`, as `on-headers` and `compression` do.
 *   Nothing is changed on Node's prototypes, so other responses, other servers and other copies
 *   of tollgate in the process are untouched.
 *
 * The log phase runs when Node's response closes, for requests where a plugin with a `log` hook ran.
 */
import type { ServerResponse } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import type { NodeResponse } from './context';
import { pluginChannel } from './diagnostics';
import { contextOf, type GatewayContext } from './gateway-context';
import { describeError } from './logger';
import type { AnyPlugin } from './plugin';
import { tracePhase } from './trace';

/**
 * Plugins that ran, in priority order (several gateways may have added to the list), without
 * those that settled.
 */
function ranInOrder(ctx: GatewayContext): AnyPlugin[] {
  let ran = ctx.ran;
  const settled = ctx.settled;
  if (settled !== undefined) ran = ran.filter((p) => !settled.includes(p));
  for (let i = 1; i < ran.length; i++) {
    if (ran[i - 1]!.priority < ran[i]!.priority) return [...ran].sort((a, b) => b.priority - a.priority);
  }
  return ran;
}

/** Runs every `headerFilter` of the plugins that ran, once per request. A throwing filter is logged and skipped. */
export function runHeaderPhase(ctx: GatewayContext): void {
  if (ctx.headerFiltered) return;
  ctx.headerFiltered = true;
  if (!ctx.hasHeaderFilter) return;
  const traced = pluginChannel.hasSubscribers;
  for (const plugin of ranInOrder(ctx)) {
    if (!plugin.headerFilter) continue;
    try {
      if (traced) tracePhase(ctx, plugin, 'headerFilter', () => plugin.headerFilter!(ctx, ctx.local(plugin)));
      else plugin.headerFilter(ctx, ctx.local(plugin));
    } catch (err) {
      ctx.log.error(`plugin "${plugin.name}" threw in headerFilter`, describeError(err));
    }
  }
}

/** Passes one body chunk through every `bodyFilter` of the plugins that ran. */
export function runBodyFilters(ctx: GatewayContext, chunk: Buffer, eof: boolean): Buffer {
  const traced = pluginChannel.hasSubscribers;
  for (const plugin of ranInOrder(ctx)) {
    if (!plugin.bodyFilter) continue;
    try {
      const out = traced ? tracePhase(ctx, plugin, 'bodyFilter', () => plugin.bodyFilter!(ctx, chunk, eof, ctx.local(plugin))) : plugin.bodyFilter(ctx, chunk, eof, ctx.local(plugin));
      if (out) chunk = out;
    } catch (err) {
      ctx.log.error(`plugin "${plugin.name}" threw in bodyFilter`, describeError(err));
    }
  }
  return chunk;
}

/** Runs every `log` hook of the plugins that ran; failures are logged, never rendered. */
export async function runLog(ctx: GatewayContext): Promise<void> {
  const traced = pluginChannel.hasSubscribers;
  for (const plugin of ranInOrder(ctx)) {
    if (!plugin.log) continue;
    try {
      await (traced ? tracePhase(ctx, plugin, 'log', () => plugin.log!(ctx, ctx.local(plugin))) : plugin.log(ctx, ctx.local(plugin)));
    } catch (err) {
      ctx.log.error(`plugin "${plugin.name}" threw in log`, describeError(err));
    }
  }
}

/**
 * Called by a plugin's `access` hook when its `headerFilter`, `bodyFilter` and `log` have nothing
 * to do for this request (a cache hit: the response is the stored one). When no plugin that ran
 * is left with work, the response is written without the header and body phases and without a
 * 'close' listener: on a cache hit those were a tenth of the request's time.
 *
 * @internal for built-in plugins; the plugin contract does not require it.
 */
export function settle(ctx: GatewayContext, plugin: AnyPlugin): void {
  const settled = (ctx.settled ??= []);
  if (!settled.includes(plugin)) settled.push(plugin);
  let header = false;
  let body = false;
  let log = false;
  for (const p of ctx.ran) {
    if (settled.includes(p)) continue;
    if (p.headerFilter) header = true;
    if (p.bodyFilter) body = true;
    if (p.log) log = true;
  }
  ctx.hasHeaderFilter = header;
  ctx.hasBodyFilter = body;
  ctx.hasLog = log;
}

/** Whether the client's side of the response is gone (HTTP/1 `destroyed`, or the HTTP/2 stream's). */
export function responseGone(res: NodeResponse): boolean {
  return (res as ServerResponse).destroyed === true || (res as { stream?: { destroyed?: boolean } }).stream?.destroyed === true;
}

/**
 * Arms the log phase, once the access phase is over, when a plugin that ran has a `log` hook and
 * has not settled: it runs when Node's response closes. Requests through gateways without one
 * add no listener (in-process test contexts have no response: `runPlugin` runs the phase itself).
 */
export function armLog(ctx: GatewayContext): void {
  if (!ctx.hasLog || ctx.logArmed) return;
  ctx.logArmed = true;
  const res = ctx.raw?.res;
  if (!res) return;
  if (responseGone(res) || res.writableFinished) queueMicrotask(() => void runLog(ctx));
  else res.once('close', logOnClose);
}

/** One listener for every response ('close' fires once), finding its context through res.req. */
function logOnClose(this: NodeResponse): void {
  const ctx = contextOf(this.req);
  if (ctx) void runLog(ctx);
}

/** A stream that passes each chunk through the body phase, for streamed bodies. */
export class BodyPhase extends Transform {
  constructor(private readonly ctx: GatewayContext) {
    super();
  }
  override _transform(chunk: Buffer | string, encoding: BufferEncoding, done: TransformCallback): void {
    done(null, runBodyFilters(this.ctx, toBuffer(chunk, encoding), false));
  }
  override _flush(done: TransformCallback): void {
    const last = runBodyFilters(this.ctx, EMPTY, true);
    done(null, last.length > 0 ? last : undefined);
  }
}

const EMPTY = Buffer.alloc(0);

const toBuffer = (chunk: unknown, encoding?: unknown): Buffer =>
  Buffer.isBuffer(chunk)
    ? chunk
    : typeof chunk === 'string'
      ? Buffer.from(chunk, (typeof encoding === 'string' ? encoding : 'utf8') as BufferEncoding)
      : Buffer.from(chunk as Uint8Array);

type WriteHead = (this: ServerResponse, status: number, reason?: unknown, headers?: unknown) => ServerResponse;
type Write = (this: ServerResponse, ...args: unknown[]) => boolean;
type End = (this: ServerResponse, ...args: unknown[]) => ServerResponse;

/**
 * Runs the header and body phases on the response the app writes on Node's `res`: this one
 * response's `writeHead`, `write` and `end` are wrapped (the way `on-headers` and `compression`
 * do it), whoever calls them. Middleware that wrapped them earlier (compression mounted before the
 * gateway) sits below: plugins see the body as the app wrote it, and what they store is replayed
 * through that middleware again.
 *
 * Once tollgate writes its own answer on the response (an exit from a later gateway), the wrappers
 * stand aside: respond.ts has run the phases already.
 */
export function interceptResponse(ctx: GatewayContext, res: ServerResponse): void {
  if (ctx.intercepted) return;
  ctx.intercepted = true;
  const writeHead = res.writeHead as WriteHead;
  const write = res.write as Write;
  const end = res.end as End;
  const own = (): boolean => ctx.answer !== undefined;

  res.writeHead = function interceptedWriteHead(this: ServerResponse, status: number, reason?: unknown, headers?: unknown): ServerResponse {
    if (ctx.headerFiltered || own() || !ctx.hasHeaderFilter) {
      ctx.headerFiltered = true;
      return writeHead.call(this, status, reason, headers);
    }
    if (typeof reason !== 'string') {
      headers = reason;
      reason = undefined;
    }
    // Headers passed here are applied first, so headerFilter sees (and may change) all of them.
    applyHeaders(this, headers);
    if (this.statusCode !== status) this.statusCode = status;
    ctx.answeredBy ??= 'app';
    runHeaderPhase(ctx);
    // HTTP/2 has no reason phrase: Http2ServerResponse warns when its statusMessage is read or sent.
    const message = reason ?? ((this as { stream?: unknown }).stream === undefined ? this.statusMessage || undefined : undefined);
    return writeHead.call(this, this.statusCode, message);
  } as ServerResponse['writeHead'];

  res.write = function interceptedWrite(this: ServerResponse, chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
    if (own() || !ctx.hasBodyFilter || chunk === undefined || chunk === null) return write.call(this, chunk, encoding, cb);
    // Node would send the head inside write(): run the header phase before the body phase.
    if (!this.headersSent) runHeaderPhase(ctx);
    ctx.bodyHandled = true;
    const out = runBodyFilters(ctx, toBuffer(chunk, encoding), false);
    return write.call(this, out, typeof encoding === 'function' ? encoding : cb);
  } as ServerResponse['write'];

  res.end = function interceptedEnd(this: ServerResponse, chunk?: unknown, encoding?: unknown, cb?: unknown): ServerResponse {
    if (own() || !ctx.hasBodyFilter || this.writableEnded) return end.call(this, chunk, encoding, cb);
    if (typeof chunk === 'function') [cb, chunk] = [chunk, undefined];
    if (typeof encoding === 'function') [cb, encoding] = [encoding, undefined];
    if (!this.headersSent) runHeaderPhase(ctx);
    ctx.bodyHandled = true;
    const out = runBodyFilters(ctx, chunk === undefined || chunk === null ? EMPTY : toBuffer(chunk, encoding), true);
    return end.call(this, out.length > 0 ? out : undefined, cb);
  } as ServerResponse['end'];
}

/** Puts headers given to `writeHead` (an object, or the raw `[name, value, …]` forms) on the response. */
function applyHeaders(res: ServerResponse, headers: unknown): void {
  if (!headers) return;
  if (Array.isArray(headers)) {
    // [[name, value], …] or the flat raw form [name, value, name, value, …]
    const pairs: [string, string][] = Array.isArray(headers[0])
      ? (headers as [string, string][])
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
  const object = headers as Record<string, string | number | readonly string[] | undefined>;
  for (const name in object) {
    const value = object[name];
    if (value !== undefined) res.setHeader(name, value);
  }
}

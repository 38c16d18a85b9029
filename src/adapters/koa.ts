/**
 * The Koa adapter (Koa 2 and 3, over HTTP/1 or `node:http2`): `gateway(...plugins)` is an ordinary
 * Koa middleware.
 *
 * The Koa way throughout: an answer tollgate makes (an exit, a cache hit, an error, a proxied
 * response) becomes `ctx.status`, headers and `ctx.body`, for Koa to send; after `await next()`,
 * the header and body phases run on what the app left in `ctx.response` and `ctx.body` (bytes,
 * text, JSON or a stream). Middleware mounted before the gateway (compression, loggers) sees both
 * as it sees any response.
 *
 * @example
 * ```ts
 * import Koa from 'koa';
 * import { rateLimit } from 'tollgate';
 * import { gateway } from 'tollgate/koa';
 *
 * const app = new Koa();
 * app.use(gateway(rateLimit({ minute: 100 })));
 * ```
 *
 * @packageDocumentation
 * @module tollgate/koa
 */
import type { Context, Middleware, Next } from 'koa';
import { Readable } from 'node:stream';
import type { RequestContext } from '../core/context';
import { contextOf, type GatewayContext } from '../core/gateway-context';
import { gatewayArguments, type GatewayOptions } from '../core/gateway-options';
import { attachContext, handOn, runGateway } from '../core/host';
import type { FrameworkFacts } from '../core/node-request';
import { BodyPhase, responseGone, runBodyFilters, runHeaderPhase } from '../core/phases';
import { Pipeline } from '../core/pipeline';
import type { AnyPlugin } from '../core/plugin';
import { prepareAnswer, unsendable } from '../core/respond';
import { wrongHost } from '../core/wrong-host';

export type { GatewayOptions } from '../core/gateway-options';

// ctx.ip and ctx.protocol honour Koa's `app.proxy` setting, and nothing else does.
const facts: FrameworkFacts<Context> = {
  ip: (koa) => koa.ip,
  protocol: (koa) => koa.protocol,
  host: (koa) => koa.host,
  // @koa/router's matched pattern, when the gateway runs inside a route.
  route: (koa) => {
    const matched = (koa as Context & { _matchedRoute?: unknown })._matchedRoute;
    return typeof matched === 'string' ? matched : '';
  },
};

/**
 * Mounts plugins as one Koa middleware. They run in priority order, highest first; plugins mounted
 * by separate `app.use` calls share one context. A first argument that is not a plugin holds the
 * gateway's options.
 */
export function gateway(options: GatewayOptions, ...plugins: AnyPlugin[]): Middleware;
export function gateway(...plugins: AnyPlugin[]): Middleware;
export function gateway(...args: (GatewayOptions | AnyPlugin)[]): Middleware {
  const { options, plugins } = gatewayArguments(args, 'gateway');
  const pipeline = new Pipeline(plugins, 'gateway', options.logger);
  return async function tollgate(koa: Context, next: Next): Promise<void> {
    if (typeof next !== 'function' || typeof koa?.req !== 'object') return wrongHost('koa', koa, next, undefined, options.logger);
    const mountPath = (koa as Context & { mountPath?: string }).mountPath ?? '';
    const ctx = attachContext(koa.req, koa.res, koa, facts, mountPath, koa.originalUrl, options.logger);
    await runGateway(pipeline, ctx);
    if (ctx.answer !== undefined) return answer(ctx, koa);
    // The client left while the access phase was at work: nobody is waiting for the app's answer.
    if (responseGone(koa.res)) return;
    handOn(ctx);
    await next();
    if (ctx.needsPhases) appResponse(ctx, koa);
  };
}

/** Hands tollgate's answer to Koa. */
function answer(ctx: GatewayContext, koa: Context): void {
  try {
    const { status, headers, body } = prepareAnswer(ctx, true);
    koa.status = status;
    if (headers !== undefined) koa.set(headers as Record<string, string | string[]>);
    // Without a body Koa sends its own status text, as it does for any empty response.
    if (body !== undefined) koa.body = body;
  } catch (err) {
    const fallback = unsendable(ctx, err);
    for (const name of koa.res.getHeaderNames()) koa.res.removeHeader(name);
    koa.status = fallback.status;
    koa.type = 'application/json; charset=utf-8';
    koa.body = fallback.payload;
  }
}

/** Runs the header and body phases on the response the app left in Koa's context. */
function appResponse(ctx: GatewayContext, koa: Context): void {
  // The app wrote Node's response itself (`ctx.respond = false`): only the log phase can run.
  if (koa.respond === false || koa.headerSent) return;
  ctx.answeredBy = 'app';
  if (koa.body === null || koa.body === undefined) {
    // Koa would send its status text ("Not Found") for an empty body unless the app set null on
    // purpose or the status has no content: give the plugins that body, as Koa will send it.
    const explicitNull = (koa.response as { _explicitNullBody?: boolean })._explicitNullBody === true;
    if (!explicitNull && !EMPTY_STATUS.has(koa.status) && koa.method !== 'HEAD') {
      const status = koa.status;
      koa.body = koa.message || String(status);
      koa.status = status; // setting a body turns Koa's default 404 into 200
    }
  }
  runHeaderPhase(ctx);
  if (!ctx.hasBodyFilter || ctx.bodyHandled) return;
  ctx.bodyHandled = true;
  const body: unknown = koa.body;
  if (body instanceof Readable) {
    const phase = new BodyPhase(ctx);
    // Koa listens for errors on the stream it is given; the app's stream failing must reach it.
    body.once('error', (err) => phase.destroy(err));
    koa.body = body.pipe(phase);
  } else if (body === null || body === undefined) {
    runBodyFilters(ctx, Buffer.alloc(0), true);
  } else if (Buffer.isBuffer(body) || typeof body === 'string') {
    koa.body = runBodyFilters(ctx, Buffer.isBuffer(body) ? body : Buffer.from(body), true);
  } else if (isJson(body)) {
    // What Koa would send: its respond() serialises with JSON.stringify; the type stays JSON.
    koa.body = runBodyFilters(ctx, Buffer.from(JSON.stringify(body)), true);
  } else {
    // A Blob, a web stream or a Response (Koa 3): its bytes are not known here.
    runBodyFilters(ctx, Buffer.alloc(0), true);
  }
}

const EMPTY_STATUS: ReadonlySet<number> = new Set([204, 205, 304]);

const isJson = (body: object): boolean => {
  const proto = Object.getPrototypeOf(body) as unknown;
  return Array.isArray(body) || proto === Object.prototype || proto === null;
};

/**
 * The request context a gateway attached to this request.
 *
 * @throws TypeError when no gateway ran on the request.
 */
export function getContext(koa: Context): RequestContext {
  const ctx = contextOf(koa.req);
  if (!ctx) throw new TypeError('getContext: no tollgate gateway ran on this request; mount gateway(...) before this middleware');
  return ctx;
}

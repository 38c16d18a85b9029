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
import type { RequestContext } from '../core/context';
import { contextOf } from '../core/gateway-context';
import { gatewayArguments, type GatewayOptions } from '../core/gateway-options';
import { attachContext, handOn, runGateway } from '../core/host';
import type { FrameworkFacts } from '../core/node-request';
import { responseGone } from '../core/phases';
import { Pipeline } from '../core/pipeline';
import type { AnyPlugin } from '../core/plugin';
import { wrongHost } from '../core/wrong-host';
import { answer, appResponse } from './koa-response';

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

/**
 * The Express adapter (Express 4 and 5): `gateway(...plugins)` is an ordinary middleware.
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { rateLimit } from 'tollgate';
 * import { gateway } from 'tollgate/express';
 *
 * const app = express();
 * app.use('/api', gateway(rateLimit({ minute: 100 })));
 * ```
 *
 * @packageDocumentation
 * @module tollgate/express
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { RequestContext } from '../core/context';
import { InternalError } from '../core/errors';
import { contextOf, type GatewayContext } from '../core/gateway-context';
import { answerOrContinue, attachContext, runGateway } from '../core/host';
import { gatewayArguments, type GatewayOptions } from '../core/gateway-options';
import { wrongHost } from '../core/wrong-host';
import type { FrameworkFacts } from '../core/node-request';
import { Pipeline } from '../core/pipeline';
import type { AnyPlugin } from '../core/plugin';

export type { GatewayOptions } from '../core/gateway-options';

// req.ip and req.protocol honour Express's "trust proxy" setting, and nothing else does.
const facts: FrameworkFacts<Request> = {
  ip: (req) => req.ip ?? req.socket.remoteAddress ?? '',
  protocol: (req) => req.protocol,
  host: (req) => req.get('host') ?? '',
  // Set while a route's own handlers run (`app.get('/users/:id', gateway(...), handler)`).
  route: (req) => (typeof req.route?.path === 'string' ? req.route.path : ''),
};

/**
 * Mounts plugins as one Express middleware. They run in priority order, highest first, whatever
 * order they are listed in; plugins mounted by separate `app.use` calls share one context. A
 * first argument that is not a plugin holds the gateway's options.
 *
 * @example
 * ```ts
 * app.use('/httpbin', gateway({ logger: pino() }, rateLimit({ minute: 5 }), upstreamProxy({ url })));
 * ```
 */
export function gateway(options: GatewayOptions, ...plugins: AnyPlugin[]): RequestHandler;
export function gateway(...plugins: AnyPlugin[]): RequestHandler;
export function gateway(...args: (GatewayOptions | AnyPlugin)[]): RequestHandler {
  const { options, plugins } = gatewayArguments(args, 'gateway');
  const pipeline = new Pipeline(plugins, 'gateway', options.logger);
  return function tollgate(req: Request, res: Response, next: NextFunction): void {
    if (typeof next !== 'function' || typeof (res as Partial<Response>)?.setHeader !== 'function') return wrongHost('express', req, res, next, options.logger);
    const ctx = attachContext(req, res, req, facts, req.baseUrl, req.originalUrl, options.logger);
    const pending = runGateway(pipeline, ctx);
    // The synchronous path (a cache hit, a cached token) allocates no closure.
    if (pending === undefined) return proceed(ctx, res, next);
    pending.then(
      () => proceed(ctx, res, next),
      (err: unknown) => {
        // runAccess renders hook errors itself; this is a last guard so no request ever hangs.
        ctx.fail(new InternalError('pipeline failed', { cause: err }));
        proceed(ctx, res, next);
      },
    );
  };
}

/** After the access phase: write the answer a plugin chose, or hand the request on. */
function proceed(ctx: GatewayContext, res: Response, next: NextFunction): void {
  if (answerOrContinue(ctx, res)) next();
}

/**
 * The request context a gateway attached to this request.
 *
 * @throws TypeError when no gateway ran on the request.
 */
export function getContext(req: Request): RequestContext {
  const ctx = contextOf(req);
  if (!ctx) throw new TypeError('getContext: no tollgate gateway ran on this request; mount gateway(...) before this handler');
  return ctx;
}

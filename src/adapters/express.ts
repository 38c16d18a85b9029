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
import { attachContext, contextOf, writeExit, type FrameworkFacts } from '../core/node';
import { Pipeline } from '../core/pipeline';
import type { AnyPlugin } from '../core/plugin';

// req.ip and req.protocol honour Express's "trust proxy" setting, and nothing else does.
const facts: FrameworkFacts<Request> = {
  ip: (req) => req.ip ?? req.socket.remoteAddress ?? '',
  protocol: (req) => req.protocol,
  host: (req) => req.get('host') ?? '',
};

/**
 * Mounts plugins as one Express middleware. They run in priority order, highest first, whatever
 * order they are listed in; plugins mounted by separate `app.use` calls share one context.
 */
export function gateway(...plugins: AnyPlugin[]): RequestHandler {
  const pipeline = new Pipeline(plugins, 'gateway');
  return function tollgate(req: Request, res: Response, next: NextFunction): void {
    const ctx = attachContext(req, res, req, facts, req.path, req.baseUrl, req.originalUrl);
    const pending = pipeline.runAccess(ctx);
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

/** After the access phase: write the early exit, or hand the request on unless a plugin answers it. */
function proceed(ctx: RequestContext, res: Response, next: NextFunction): void {
  if (ctx.exited) writeExit(ctx, res);
  else if (ctx.respondedBy === undefined) next();
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

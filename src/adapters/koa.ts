/**
 * The Koa adapter (Koa 2 and 3): `gateway(...plugins)` is an ordinary Koa middleware.
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
import type { ServerResponse } from 'node:http';
import type { RequestContext } from '../core/context';
import { attachContext, contextOf, elapsed, serializeBody, type FrameworkFacts } from '../core/node';
import { Pipeline } from '../core/pipeline';
import type { AnyPlugin } from '../core/plugin';

const finished = (res: ServerResponse): Promise<void> =>
  new Promise((resolve) => {
    if (res.writableFinished || res.destroyed) resolve();
    else res.once('close', () => resolve());
  });

// ctx.ip and ctx.protocol honour Koa's `app.proxy` setting, and nothing else does.
const facts: FrameworkFacts<Context> = {
  ip: (koa) => koa.ip,
  protocol: (koa) => koa.protocol,
  host: (koa) => koa.host,
};

/**
 * Mounts plugins as one Koa middleware. They run in priority order, highest first; plugins mounted
 * by separate `app.use` calls share one context. Responses set in `ctx.body` downstream, streamed
 * or not, pass through every plugin's `headerFilter`, `bodyFilter` and `log`.
 */
export function gateway(...plugins: AnyPlugin[]): Middleware {
  const pipeline = new Pipeline(plugins, 'gateway');
  return async function tollgate(koa: Context, next: Next): Promise<void> {
    const ctx = attachContext(koa.req, koa.res, koa, facts, koa.path, (koa as Context & { mountPath?: string }).mountPath ?? '', koa.originalUrl);
    await pipeline.runAccess(ctx);
    if (ctx.exited) {
      const { status, body, headers } = ctx.exited;
      koa.status = status;
      if (headers) koa.set(headers as Record<string, string | string[]>);
      koa.set('X-Tollgate-Response-Latency', String(elapsed(ctx)));
      const serialized = serializeBody(body);
      if (serialized) {
        if (!koa.response.get('Content-Type')) koa.type = serialized.type;
        koa.body = serialized.payload;
      }
      return;
    }
    if (ctx.respondedBy !== undefined) {
      // A plugin (the upstream proxy) writes Node's response itself: Koa must keep out of it.
      koa.respond = false;
      await finished(koa.res);
      return;
    }
    await next();
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

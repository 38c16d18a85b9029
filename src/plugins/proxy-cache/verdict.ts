/**
 * The cache's verdict on a request on `tollgate:cache` (see core/diagnostics.ts), once per request:
 * `Hit` when the stored response is served, else when the header phase settles Miss, Refresh or
 * Bypass. One `hasSubscribers` check while nobody listens.
 */
import type { RequestContext } from '../../core/context';
import { cacheChannel, type CacheMessage } from '../../core/diagnostics';

class Verdict implements CacheMessage {
  readonly #ctx: RequestContext;
  readonly route: string;
  constructor(
    ctx: RequestContext,
    readonly status: CacheMessage['status'],
  ) {
    this.#ctx = ctx;
    this.route = ctx.request.route;
  }
  get ctx(): RequestContext {
    return this.#ctx;
  }
}

/** Publishes the verdict, if anyone listens. */
export function publishVerdict(ctx: RequestContext, status: CacheMessage['status']): void {
  if (cacheChannel.hasSubscribers) cacheChannel.publish(new Verdict(ctx, status));
}

/**
 * What every host adapter over Node's `req`/`res` does (Express, Koa, plain node:http): attach the
 * request's context, run a gateway's access phase, and, when the gateway did not answer, let the
 * app answer with the later phases wired to its response.
 */
import type { ServerResponse } from 'node:http';
import type { NodeRequest, NodeResponse, ResponseView } from './context';
import { requestChannel } from './diagnostics';
import { BadRequestError } from './errors';
import { contextOf, GatewayContext, keepContext } from './gateway-context';
import { getLogger, type Logger } from './logger';
import { NodeRequestView, type FrameworkFacts } from './node-request';
import { NodeResponseView } from './node-response';
import type { Pipeline } from './pipeline';
import { interceptResponse, responseGone } from './phases';
import { writeAnswer } from './respond';
import { RequestTrace } from './trace';

/**
 * The context of this request: the one an earlier gateway of this copy of tollgate attached
 * (re-anchored to this gateway's mount point), or a new one.
 *
 * @param origin - what `facts` reads the framework's answers from (Express's req, Koa's ctx)
 * @param mountPath - the prefix this gateway is mounted under (`/httpbin`), or ''
 * @param originalUrl - the client's URL (path and query) before any mount stripping
 * @param logger - the gateway's own logger, if it was given one
 * @param response - the view of the response plugins use, where the framework keeps the headers
 *   until it sends them (Fastify's reply) rather than on Node's response
 */
export function attachContext<O>(
  req: NodeRequest,
  res: NodeResponse,
  origin: O,
  facts: FrameworkFacts<O>,
  mountPath: string,
  originalUrl: string,
  logger: Logger | undefined,
  response?: ResponseView,
): GatewayContext {
  const existing = contextOf(req);
  if (existing) {
    // A later gateway mounted elsewhere (`app.use('/httpbin', gateway(...))` after a root one)
    // sees the request relative to its own mount point.
    (existing.request as NodeRequestView<O>).anchor(mountPath);
    return existing;
  }
  const ctx = new GatewayContext(new NodeRequestView(req, origin, facts, mountPath, originalUrl), response ?? new NodeResponseView(res), { req, res }, logger ?? getLogger());
  keepContext(req, ctx);
  return ctx;
}

/**
 * Runs a gateway's access phase. A path whose dot segments leave the prefix the framework mounted
 * the gateway on (`/api/../admin` under `/api`) is not this gateway's to serve, nor the
 * upstream's: it is refused before any plugin runs.
 */
export function runGateway(pipeline: Pipeline, ctx: GatewayContext): void | Promise<void> {
  if (requestChannel.hasSubscribers) return traceGateway(pipeline, ctx);
  return accessPhase(pipeline, ctx);
}

function accessPhase(pipeline: Pipeline, ctx: GatewayContext): void | Promise<void> {
  if ((ctx.request as NodeRequestView<unknown>).outsideMount) {
    ctx.fail(new BadRequestError('The request path leaves the path this gateway is mounted on'));
    return;
  }
  return pipeline.runAccess(ctx);
}

/** `runGateway` published on `tollgate:request`: from here to the response's 'close'. */
function traceGateway(pipeline: Pipeline, ctx: GatewayContext): void | Promise<void> {
  const trace = new RequestTrace(ctx);
  const res = ctx.raw!.res;
  if (responseGone(res)) queueMicrotask(() => trace.end());
  else res.once('close', () => trace.end());
  return trace.start(accessPhase, pipeline, ctx);
}

/**
 * Notes how long the gateway took before it handed the request on to the app's handler (for
 * metrics: the handler's time is not the gateway's), as the upstream proxy does for the upstream.
 */
export function handOn(ctx: GatewayContext): void {
  ctx.timings.proxyLatency = Math.round(performance.now() - ctx.timings.start);
}

/**
 * After the access phase on a host that writes Node's response (Express, node:http): send the
 * answer a plugin chose, or hand the request on with the header and body phases wired to the
 * response the app will write. Returns whether the request goes on to the app.
 */
export function answerOrContinue(ctx: GatewayContext, res: NodeResponse): boolean {
  if (ctx.answer !== undefined) {
    writeAnswer(ctx, res);
    return false;
  }
  // The client left while the access phase was at work: nobody is waiting for the app's answer.
  if (responseGone(res)) return false;
  if (ctx.needsPhases) interceptResponse(ctx, res as ServerResponse);
  handOn(ctx);
  return true;
}

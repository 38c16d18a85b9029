/**
 * How a gateway's request ends in Koa, for every gateway a Koa app mounts (tollgate/koa's and
 * tollgate/kong's): tollgate's own answer becomes `ctx.status`, headers and `ctx.body`; after
 * `await next()`, the header and body phases run on what the app left in `ctx.response` and
 * `ctx.body`.
 */
import type { Context } from 'koa';
import { Readable } from 'node:stream';
import type { GatewayContext } from '../core/gateway-context';
import { BodyPhase, runBodyFilters, runHeaderPhase } from '../core/phases';
import { prepareAnswer, unsendable } from '../core/respond';

/** Hands tollgate's answer to Koa. */
export function answer(ctx: GatewayContext, koa: Context): void {
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
export function appResponse(ctx: GatewayContext, koa: Context): void {
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

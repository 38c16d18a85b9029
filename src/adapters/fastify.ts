/**
 * The Fastify adapter (Fastify 5): `gateway(...plugins)` is a Fastify plugin, wrapped with
 * `fastify-plugin` so its hooks apply to the scope that registers it and every route in it.
 *
 * The Fastify way throughout: the access phase runs in an `onRequest` hook; an answer tollgate
 * makes (an exit, an error, a cache hit, the upstream's response) is sent with
 * `reply.code().headers().send()`; the header and body phases run in `onSend`, where Fastify still
 * holds the headers and the serialised payload of whatever answered (a route of the app, Fastify's
 * own 404 or error handler). The log phase runs once Node's response has closed, right after
 * Fastify's `onResponse`, and also for a response the client cut short, which `onResponse` never sees.
 *
 * With `upstreamProxy` among the plugins the gateway also registers a catch-all route in its scope
 * (`/` and `/*`), and the scope's prefix is left out of the upstream path, as Express's mount is.
 * Registered with `{ prefix }` itself, the gateway makes a scope of its own at that prefix, as
 * `@fastify/http-proxy` does: its policies then cover its own catch-all route only.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import { rateLimit, upstreamProxy } from 'tollgate';
 * import { gateway } from 'tollgate/fastify';
 *
 * const app = Fastify();
 * app.register(gateway(rateLimit({ minute: 5 }), upstreamProxy({ url: 'http://127.0.0.1:8080' })), { prefix: '/httpbin' });
 * ```
 *
 * @packageDocumentation
 * @module tollgate/fastify
 */
import type { OutgoingHttpHeader, OutgoingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import type { RequestContext, ResponseView } from '../core/context';
import { InternalError } from '../core/errors';
import type { GatewayContext } from '../core/gateway-context';
import { gatewayArguments, type GatewayOptions } from '../core/gateway-options';
import { attachContext, runGateway } from '../core/host';
import type { FrameworkFacts } from '../core/node-request';
import { BodyPhase, responseGone, runBodyFilters, runHeaderPhase } from '../core/phases';
import { Pipeline } from '../core/pipeline';
import type { AnyPlugin } from '../core/plugin';
import { prepareAnswer } from '../core/respond';
import { wrongHost } from '../core/wrong-host';

export type { GatewayOptions } from '../core/gateway-options';

/** How the gateway may be registered: `app.register(gateway(...), { prefix: '/httpbin' })`. */
export interface GatewayRegisterOptions {
  /** Makes the gateway a scope of its own at this prefix (its catch-all route, its policies). */
  prefix?: string;
}

/**
 * Where a request's context is kept: a request decoration declared once per server, under a
 * symbol of this copy of tollgate (two copies in one process each keep their own).
 */
const CONTEXT = Symbol('tollgate.context');

type Decorated = FastifyRequest & { [CONTEXT]: GatewayContext | null };

/** The HTTP methods the catch-all route of an `upstreamProxy` gateway answers. */
const PROXIED_METHODS = ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT', 'OPTIONS', 'TRACE'];

const NOT_FOUND = Object.freeze({ message: 'Not Found' });

/**
 * The context's view of the response: Fastify keeps the headers on the reply until it sends
 * them (they are not on Node's response before `onSend` has run), so plugins read and write there.
 */
class FastifyResponseView implements ResponseView {
  constructor(private readonly reply: FastifyReply) {}
  get status() {
    return this.reply.statusCode;
  }
  set status(code: number) {
    this.reply.statusCode = code;
  }
  get headersSent() {
    return this.reply.raw.headersSent;
  }
  getHeader(name: string) {
    return this.reply.getHeader(name) as OutgoingHttpHeader | undefined;
  }
  setHeader(name: string, value: OutgoingHttpHeader) {
    if (!this.reply.raw.headersSent) this.reply.header(name, value);
  }
  removeHeader(name: string) {
    if (!this.reply.raw.headersSent) this.reply.removeHeader(name);
  }
  getHeaders() {
    return this.reply.getHeaders() as Record<string, OutgoingHttpHeader | undefined>;
  }
}

/** The route Fastify matched, relative to the gateway's prefix (`/users/:id`), or ''. */
function routeBelow(request: FastifyRequest, mountPath: string): string {
  const url = request.routeOptions.url;
  if (url === undefined) return '';
  return mountPath !== '' && url.startsWith(mountPath) ? url.slice(mountPath.length) : url;
}

/**
 * Mounts plugins as one Fastify plugin. They run in priority order, highest first, whatever order
 * they are listed in; gateways registered in nested scopes share one context per request. A first
 * argument that is not a plugin holds the gateway's options.
 *
 * @example
 * ```ts
 * app.register(gateway({ logger: app.log }, oidc({ issuer }), rateLimit({ minute: 5 })));
 * ```
 */
export function gateway(options: GatewayOptions, ...plugins: AnyPlugin[]): FastifyPluginCallback<GatewayRegisterOptions>;
export function gateway(...plugins: AnyPlugin[]): FastifyPluginCallback<GatewayRegisterOptions>;
export function gateway(...args: (GatewayOptions | AnyPlugin)[]): FastifyPluginCallback<GatewayRegisterOptions> {
  const { options, plugins } = gatewayArguments(args, 'gateway');
  const pipeline = new Pipeline(plugins, 'gateway', options.logger);
  const proxies = plugins.some((p) => p.name === 'upstream-proxy');

  /** The hooks (and the catch-all route) in one scope. */
  const install = (scope: FastifyInstance): void => {
    if (!scope.hasRequestDecorator(CONTEXT)) scope.decorateRequest(CONTEXT, null);
    // The scope's prefix is where the gateway is mounted (Express's req.baseUrl).
    const mountPath = scope.prefix;
    const facts: FrameworkFacts<FastifyRequest> = {
      ip: (request) => request.ip,
      protocol: (request) => request.protocol,
      host: (request) => request.host,
      route: (request) => routeBelow(request, mountPath),
    };

    scope.addHook('onRequest', function tollgate(request, reply, done) {
      const ctx = attachContext(request.raw, reply.raw, request, facts, mountPath, request.url, options.logger, new FastifyResponseView(reply));
      (request as Decorated)[CONTEXT] = ctx;
      const pending = runGateway(pipeline, ctx);
      // The synchronous path (a cache hit, a cached token) allocates no closure.
      if (pending === undefined) return proceed(ctx, reply, done);
      pending.then(
        () => proceed(ctx, reply, done),
        (err: unknown) => {
          // runAccess renders hook errors itself; this is a last guard so no request ever hangs.
          ctx.fail(new InternalError('pipeline failed', { cause: err }));
          proceed(ctx, reply, done);
        },
      );
    });

    scope.addHook('onSend', function tollgatePhases(request, _reply, payload, done) {
      const ctx = (request as Decorated)[CONTEXT];
      if (ctx === null || !ctx.needsPhases) return done(null, payload);
      done(null, appResponse(ctx, payload));
    });

    if (proxies) {
      // Reached only when upstreamProxy did not answer: another gateway's plugin let it through.
      const unanswered = (_request: FastifyRequest, reply: FastifyReply) => void reply.code(404).send(NOT_FOUND);
      scope.route({ method: PROXIED_METHODS, url: '/', handler: unanswered });
      scope.route({ method: PROXIED_METHODS, url: '/*', handler: unanswered });
    }
  };

  const plugin: FastifyPluginCallback<GatewayRegisterOptions> = (instance, registered, done) => {
    if (typeof (instance as Partial<FastifyInstance> | undefined)?.addHook !== 'function') {
      // Called as another framework's middleware: (req, res, next) or (ctx, next).
      return wrongHost('fastify', instance, registered, done, options.logger);
    }
    const prefix = registered?.prefix;
    // fastify-plugin's scope sharing drops `prefix`: a scope of the gateway's own keeps it.
    if (typeof prefix === 'string' && prefix !== '') {
      instance.register((scope, _opts, next) => {
        install(scope);
        next();
      }, { prefix });
    } else {
      install(instance);
    }
    done();
  };
  return fastifyPlugin(plugin, { fastify: '5.x', name: 'tollgate' });
}

/** After the access phase: send the answer a plugin chose, or let Fastify route the request. */
function proceed(ctx: GatewayContext, reply: FastifyReply, done: (err?: Error) => void): void {
  if (ctx.answer !== undefined) return answer(ctx, reply);
  // The client left while the access phase was at work: nobody is waiting for the app's answer.
  if (responseGone(reply.raw)) return;
  done();
}

/** Hands tollgate's answer to Fastify; the onSend hook then finds the phases done. */
function answer(ctx: GatewayContext, reply: FastifyReply): void {
  if (responseGone(reply.raw)) {
    const body = ctx.answer!.body;
    if (body instanceof Readable) body.destroy();
    return;
  }
  const { status, headers, body, sendBody } = prepareAnswer(ctx, true);
  reply.code(status);
  if (headers !== undefined) reply.headers(headers as OutgoingHttpHeaders);
  // HEAD, 204, 304: nothing to send; let a bodiless stream run out rather than hold its connection.
  if (!sendBody && body instanceof Readable) body.resume();
  reply.send(sendBody ? body : undefined);
}

/** Runs the header and body phases on what the app (or Fastify itself) answered. */
function appResponse(ctx: GatewayContext, payload: unknown): unknown {
  ctx.answeredBy ??= 'app';
  runHeaderPhase(ctx);
  if (!ctx.hasBodyFilter || ctx.bodyHandled) return payload;
  ctx.bodyHandled = true;
  if (payload instanceof Readable) {
    const phase = new BodyPhase(ctx);
    // Fastify listens for errors on the stream it is given; the app's stream failing must reach it.
    payload.once('error', (err) => phase.destroy(err));
    return payload.pipe(phase);
  }
  if (typeof payload === 'string' || Buffer.isBuffer(payload)) {
    // Fastify sets Content-Length from the payload after onSend.
    return runBodyFilters(ctx, Buffer.isBuffer(payload) ? payload : Buffer.from(payload), true);
  }
  runBodyFilters(ctx, Buffer.alloc(0), true);
  return payload;
}

/**
 * The request context a gateway attached to this request.
 *
 * @throws TypeError when no gateway ran on the request.
 */
export function getContext(request: FastifyRequest): RequestContext {
  const ctx = (request as Partial<Decorated>)[CONTEXT];
  if (!ctx) throw new TypeError('getContext: no tollgate gateway ran on this request; register gateway(...) in the scope of this route');
  return ctx;
}

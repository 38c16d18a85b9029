/**
 * The gateway with no framework: `gateway(...plugins)` is a request listener for
 * `http.createServer`, `https.createServer` and `http2.createServer`/`createSecureServer` (through
 * Node's compatibility API), and a connect-style middleware (`(req, res, next)`) where one is wanted.
 *
 * With nothing after it, the gateway is the whole service: a request no plugin answered (no
 * `upstreamProxy`, no exit) gets `404 {"message":"Not Found"}`, through the same response path as
 * every other answer, so the header phase (rate-limit headers) and the log phase still run.
 *
 * There is no framework to say which proxies to trust: `ctx.request.ip` is the connecting peer's
 * address and `ctx.request.protocol` the connection's own scheme; `X-Forwarded-*` headers from the
 * client are never believed (the upstream proxy replaces them with what this server saw).
 *
 * @example
 * ```ts
 * import http from 'node:http';
 * import { rateLimit, upstreamProxy } from 'tollgate';
 * import { gateway } from 'tollgate/node';
 *
 * http.createServer(gateway(rateLimit({ minute: 100 }), upstreamProxy({ url: 'http://127.0.0.1:8080' }))).listen(8000);
 * ```
 *
 * @packageDocumentation
 * @module tollgate/node
 */
import type { TLSSocket } from 'node:tls';
import type { NodeRequest, NodeResponse, RequestContext } from '../core/context';
import { InternalError } from '../core/errors';
import { contextOf, type GatewayContext } from '../core/gateway-context';
import { gatewayArguments, type GatewayOptions } from '../core/gateway-options';
import { answerOrContinue, attachContext, runGateway } from '../core/host';
import type { FrameworkFacts } from '../core/node-request';
import { Pipeline } from '../core/pipeline';
import type { AnyPlugin } from '../core/plugin';
import { wrongHost } from '../core/wrong-host';

export type { GatewayOptions } from '../core/gateway-options';

/** What `gateway()` returns: a request listener, or a middleware when a `next` is given. */
export type NodeGateway = (req: NodeRequest, res: NodeResponse, next?: (err?: unknown) => void) => void;

const NOT_FOUND = Object.freeze({ message: 'Not Found' });

// No framework, so no trust-proxy setting: what the connection itself says.
const facts: FrameworkFacts<NodeRequest> = {
  ip: (req) => req.socket?.remoteAddress ?? '',
  protocol: (req) => ((req.socket as TLSSocket | undefined)?.encrypted ? 'https' : 'http'),
  host: (req) => {
    const host = req.headers.host ?? req.headers[':authority'];
    return typeof host === 'string' ? host : '';
  },
  route: () => '',
};

/**
 * Mounts plugins as one request listener. They run in priority order, highest first, whatever
 * order they are listed in. A first argument that is not a plugin holds the gateway's options.
 *
 * @example
 * ```ts
 * http.createServer(gateway({ logger: pino() }, oidc({ issuer }), upstreamProxy({ url }))).listen(8000);
 * ```
 */
export function gateway(options: GatewayOptions, ...plugins: AnyPlugin[]): NodeGateway;
export function gateway(...plugins: AnyPlugin[]): NodeGateway;
export function gateway(...args: (GatewayOptions | AnyPlugin)[]): NodeGateway {
  const { options, plugins } = gatewayArguments(args, 'gateway');
  const pipeline = new Pipeline(plugins, 'gateway', options.logger);
  return function tollgate(req: NodeRequest, res: NodeResponse, next?: (err?: unknown) => void): void {
    if (typeof (res as Partial<NodeResponse> | undefined)?.setHeader !== 'function') return wrongHost('node', req, res, next, options.logger);
    const ctx = attachContext(req, res, req, facts, '', req.url ?? '/', options.logger);
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

/** After the access phase: write the answer a plugin chose, hand the request on, or answer 404. */
function proceed(ctx: GatewayContext, res: NodeResponse, next: ((err?: unknown) => void) | undefined): void {
  if (next === undefined && ctx.answer === undefined) ctx.exit(404, NOT_FOUND);
  if (answerOrContinue(ctx, res)) next!();
}

/**
 * The request context a gateway attached to this request.
 *
 * @throws TypeError when no gateway ran on the request.
 */
export function getContext(req: NodeRequest): RequestContext {
  const ctx = contextOf(req);
  if (!ctx) throw new TypeError('getContext: no tollgate gateway ran on this request; call the gateway before this handler');
  return ctx;
}

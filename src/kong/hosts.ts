/**
 * The file's gateway as an Express middleware, a Koa middleware and a node:http handler. Each is
 * what tollgate/express, tollgate/koa and tollgate/node do for one pipeline, with Kong's router in
 * front choosing the pipeline. Neither Express nor Koa is imported: their types only.
 */
import type { TLSSocket } from 'node:tls';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Context, Middleware, Next } from 'koa';
import { answer, appResponse } from '../adapters/koa-response';
import type { NodeRequest, NodeResponse } from '../core/context';
import { InternalError } from '../core/errors';
import type { GatewayContext } from '../core/gateway-context';
import { answerOrContinue, attachContext } from '../core/host';
import type { Logger } from '../core/logger';
import type { FrameworkFacts } from '../core/node-request';
import { responseGone } from '../core/phases';
import { writeAnswer } from '../core/respond';
import { wrongHost } from '../core/wrong-host';
import type { Dispatcher } from './dispatch';

/** A node:http request handler; `next` (if given) serves requests of routes without a service. */
export type NodeHandler = (req: NodeRequest, res: NodeResponse, next?: () => void) => void;

const expressFacts: FrameworkFacts<Request> = {
  ip: (req) => req.ip ?? req.socket.remoteAddress ?? '',
  protocol: (req) => req.protocol,
  host: (req) => req.get('host') ?? '',
  route: () => '',
};

const koaFacts: FrameworkFacts<Context> = {
  ip: (koa) => koa.ip,
  protocol: (koa) => koa.protocol,
  host: (koa) => koa.host,
  route: () => '',
};

// Plain node:http has no trust-proxy setting: the connection is the truth.
const nodeFacts: FrameworkFacts<NodeRequest> = {
  ip: (req) => req.socket.remoteAddress ?? '',
  protocol: (req) => ((req.socket as TLSSocket).encrypted ? 'https' : 'http'),
  host: (req) => req.headers.host ?? (req.headers[':authority'] as string | undefined) ?? '',
  route: () => '',
};

/** Calls `done` once the access phase is over: at once when it was synchronous; a rejection is a 500, never a hung request. */
function then(ctx: GatewayContext, pending: void | Promise<void>, done: () => void): void {
  if (pending === undefined) return done();
  pending.then(done, (err: unknown) => {
    ctx.fail(new InternalError('pipeline failed', { cause: err }));
    done();
  });
}

/** The gateway as one Express middleware (Express 4 and 5). */
export function expressHost(dispatcher: Dispatcher, logger: Logger | undefined): RequestHandler {
  return function tollgateKong(req: Request, res: Response, next: NextFunction): void {
    if (typeof next !== 'function' || typeof (res as Partial<Response>)?.setHeader !== 'function') return wrongHost('express', req, res, next, logger);
    const ctx = attachContext(req, res, req, expressFacts, req.baseUrl, req.originalUrl, logger);
    then(ctx, dispatcher.handle(ctx, req.socket.localPort), () => {
      if (answerOrContinue(ctx, res)) next();
    });
  };
}

/** The gateway as one Koa middleware (Koa 2 and 3; under koa-mount, routes are relative to the mount). */
export function koaHost(dispatcher: Dispatcher, logger: Logger | undefined): Middleware {
  return async function tollgateKong(koa: Context, next: Next): Promise<void> {
    if (typeof next !== 'function' || typeof koa?.req !== 'object') return wrongHost('koa', koa, next, undefined, logger);
    const mountPath = (koa as Context & { mountPath?: string }).mountPath ?? '';
    const ctx = attachContext(koa.req, koa.res, koa, koaFacts, mountPath, koa.originalUrl, logger);
    try {
      await dispatcher.handle(ctx, koa.req.socket.localPort);
    } catch (err) {
      ctx.fail(new InternalError('pipeline failed', { cause: err }));
    }
    if (ctx.answer !== undefined) return answer(ctx, koa);
    if (responseGone(koa.res)) return;
    await next();
    if (ctx.needsPhases) appResponse(ctx, koa);
  };
}

/** The gateway as a node:http handler, over the same core as tollgate/node. */
export function nodeHost(dispatcher: Dispatcher, logger: Logger | undefined): NodeHandler {
  return function tollgateKong(req: NodeRequest, res: NodeResponse, next?: () => void): void {
    const ctx = attachContext(req, res, req, nodeFacts, '', req.url ?? '/', logger);
    then(ctx, dispatcher.handle(ctx, req.socket.localPort), () => {
      if (!answerOrContinue(ctx, res)) return;
      if (next !== undefined) return next();
      // No app behind this handler for a route without a service: Kong's answer.
      ctx.exit(503, { message: 'no Service found with those values', ...(ctx.requestId ? { request_id: ctx.requestId } : {}) });
      writeAnswer(ctx, res);
    });
  };
}

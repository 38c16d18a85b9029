/**
 * What a gateway does when it was mounted in another framework than the one its import is for
 * (`tollgate/koa`'s gateway in an Express app, or the reverse). Without this check the first
 * request fails deep inside the adapter, and Express's error page shows the stack to the client.
 * Here the client gets tollgate's usual 500 JSON and the log says which import to use.
 */
import type { ServerResponse } from 'node:http';
import { INTERNAL_MESSAGE } from './errors';
import { getLogger, type Logger } from './logger';

type Host = 'express' | 'koa' | 'node' | 'fastify';

const IMPORT: Record<Host, string> = { express: 'tollgate/express', koa: 'tollgate/koa', node: 'tollgate/node', fastify: 'tollgate/fastify' };

/** Which framework called a middleware, from the shape of its arguments. */
function calledBy(a: unknown, b: unknown): Host | undefined {
  // A Fastify hook: (request, reply, done), each of request and reply wrapping Node's own.
  const reply = b as { raw?: unknown; code?: unknown } | null;
  if (typeof reply === 'object' && reply !== null && typeof reply.raw === 'object' && typeof reply.code === 'function') return 'fastify';
  const koa = a as { req?: unknown; res?: unknown; app?: unknown } | null;
  if (typeof koa === 'object' && koa !== null && typeof koa.req === 'object' && typeof koa.res === 'object' && typeof b === 'function') return 'koa';
  if (typeof b === 'object' && b !== null && typeof (b as ServerResponse).setHeader === 'function') return 'express';
  return undefined;
}

/**
 * Answers a request that reached a gateway through the wrong framework with a 500 JSON body, and
 * logs the fix. Throws a TypeError when the call is not a request of any framework at all.
 */
export function wrongHost(expected: Host, a: unknown, b: unknown, _c: unknown, logger: Logger | undefined): void {
  const host = calledBy(a, b);
  const fix = `gateway() from '${IMPORT[expected]}' was called by ${host ?? 'something that is not a request handler'}; import { gateway } from '${IMPORT[host ?? expected]}' for this app`;
  if (host === undefined || host === expected) throw new TypeError(`tollgate: ${fix}`);
  (logger ?? getLogger()).error(`tollgate: ${fix}`);
  const body = JSON.stringify({ message: INTERNAL_MESSAGE });
  if (host === 'fastify') {
    const fastifyReply = b as { code(status: number): { type(t: string): { send(body: string): void } } };
    fastifyReply.code(500).type('application/json; charset=utf-8').send(body);
    return;
  }
  if (host === 'koa') {
    const koa = a as { status: number; body: unknown; type: string };
    koa.status = 500;
    koa.type = 'application/json';
    koa.body = body;
    return;
  }
  const res = b as ServerResponse;
  if (res.headersSent) return void res.destroy();
  res.statusCode = 500;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

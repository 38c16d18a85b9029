/**
 * Type tests: `tsc --noEmit` (part of `npm test`) fails if TypeScript stops catching a gateway
 * mounted in the wrong framework, or if the context's bookkeeping becomes reachable from user code.
 */
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import { ConfigError, isTollgateError, RateLimitError, TollgateError, type RequestContext } from 'tollgate';
import { gateway } from 'tollgate/express';
import { gateway as fastifyGateway } from 'tollgate/fastify';
import { gateway as koaGateway } from 'tollgate/koa';
import { gateway as nodeGateway } from 'tollgate/node';

// Never called: only type-checked.
export function misuses(ctx: RequestContext, err: unknown): void {
  // @ts-expect-error tollgate/koa's gateway is not an Express handler
  express().use(koaGateway());
  // @ts-expect-error tollgate/express's gateway is not a Koa middleware
  new Koa().use(gateway());
  // @ts-expect-error tollgate/fastify's gateway is a Fastify plugin, not an Express handler
  express().use(fastifyGateway());
  // @ts-expect-error nor a Koa middleware
  new Koa().use(fastifyGateway());
  // @ts-expect-error tollgate/node's gateway is not a Koa middleware
  new Koa().use(nodeGateway());
  // @ts-expect-error tollgate/express's gateway is not a Fastify plugin
  Fastify().register(gateway());
  // @ts-expect-error nor is tollgate/node's
  Fastify().register(nodeGateway());
  // @ts-expect-error which plugins ran is the pipeline's business
  void ctx.ran;
  // @ts-expect-error the phase flags are not part of the context
  void ctx.hasHeaderFilter;
  // @ts-expect-error how the request was answered is not part of the context
  ctx.answer = undefined;
  if (isTollgateError(err)) {
    switch (err.code) {
      case 'ERR_CONFIG_INVALID':
        // Narrowed to ConfigError: it has the option path.
        void err.option;
        break;
      // @ts-expect-error a code that no error carries is refused
      case 'ERR_NO_SUCH_CODE':
        break;
    }
  }
}

describe('isTollgateError', () => {
  it('recognises the errors of the catalogue, whose code then narrows the class', () => {
    const errors: unknown[] = [new RateLimitError(), new ConfigError('rateLimit: bad', 'minute'), new Error('x'), new TollgateError('no catalogue code')];
    const seen = errors.map((err) => {
      if (!isTollgateError(err)) return 'foreign';
      switch (err.code) {
        case 'ERR_CONFIG_INVALID':
          return `config ${err.option}`;
        case 'ERR_RATE_LIMIT_EXCEEDED':
          return `rate limit ${err.status}`;
        default:
          return err.code;
      }
    });
    expect(seen).toEqual(['rate limit 429', 'config minute', 'foreign', 'foreign']);
  });
});

/**
 * tollgate on Fastify (tollgate/fastify), one process per configuration (STACK env): the rate
 * limit alone, the upstream proxy alone, and the full walkthrough stack.
 */
import Fastify from 'fastify';
import type * as TollgateFastify from 'tollgate/fastify';
import { env, listenFastify } from '../serve';
import { bearer, limit, tollgate } from './tollgate-plugins';

// Typed from the sources, loaded from dist/ (see tollgate.ts).
const { gateway } = require('../../dist/adapters/fastify.js') as typeof TollgateFastify;
const { proxyCache, upstreamProxy } = tollgate;

const body = JSON.stringify({ ok: true, items: [1, 2, 3], message: 'hello from upstream' });
const app = Fastify();
switch (process.env.STACK) {
  case 'ratelimit-local':
    app.register(async (scope) => {
      await scope.register(gateway(limit('local')));
      scope.get('/*', (_request, reply) => {
        reply.header('content-type', 'application/json; charset=utf-8').send(body);
      });
    });
    break;
  case 'proxy':
    app.register(gateway(upstreamProxy({ url: env.upstreamUrl })));
    break;
  case 'full':
    app.register(gateway(bearer(), limit('local'), proxyCache({ strategy: 'memory', cacheTtl: 300 }), upstreamProxy({ url: env.upstreamUrl })), { prefix: '/httpbin' });
    break;
  default:
    throw new Error(`unknown STACK ${process.env.STACK}`);
}
listenFastify(app);

// Peer: Fastify + @fastify/rate-limit with its memory store, a limit the run never reaches.
import Fastify from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { listenFastify } from '../serve';

const body = JSON.stringify({ ok: true, items: [1, 2, 3], message: 'hello from upstream' });
const app = Fastify();
app.register(rateLimit, { max: 1_000_000_000, timeWindow: 60_000 });
app.register(async (scope) => {
  scope.get('/*', (_request, reply) => {
    reply.header('content-type', 'application/json; charset=utf-8').send(body);
  });
});
listenFastify(app);

// Bare Fastify: the baseline of the Fastify stacks, answering the same JSON document.
import Fastify from 'fastify';
import { listenFastify } from '../serve';

const body = JSON.stringify({ ok: true, items: [1, 2, 3], message: 'hello from upstream' });
const app = Fastify();
app.get('/*', (_request, reply) => {
  reply.header('content-type', 'application/json; charset=utf-8').send(body);
});
listenFastify(app);

// Peer: Fastify + @fastify/http-proxy (undici underneath, through @fastify/reply-from), its defaults.
import Fastify from 'fastify';
import proxy from '@fastify/http-proxy';
import { env, listenFastify } from '../serve';

const app = Fastify();
app.register(proxy, { upstream: env.upstreamUrl });
listenFastify(app);

/**
 * What every benchmark stack shares: the JSON handler standing in for the app's route, and
 * listening on a free loopback port, announced to the harness as `READY <port>`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** The fixtures the harness passes in the environment. */
export const env = {
  upstreamUrl: process.env.UPSTREAM_URL ?? '',
  issuerUrl: process.env.ISSUER_URL ?? '',
  audience: process.env.AUDIENCE ?? '',
};

const body = JSON.stringify({ ok: true, items: [1, 2, 3], message: 'hello from upstream' });

/** The app's own route: a small JSON document, as the upstream answers. */
export function handler(_req: http.IncomingMessage, res: http.ServerResponse): void {
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(body);
}

/** Listens on 127.0.0.1 and tells the harness the port. */
export function listen(app: http.RequestListener | http.Server): void {
  const server = app instanceof http.Server ? app : http.createServer(app);
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    console.log(`READY ${(server.address() as AddressInfo).port}`);
  });
}

/** Listens with a Fastify app, once its plugins are loaded. */
export function listenFastify(app: { ready(): PromiseLike<unknown>; server: http.Server }): void {
  void Promise.resolve(app.ready()).then(() => listen(app.server));
}

// Exit normally on a signal, so `--cpu-prof` can write its profile when the harness stops a stack.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(0));

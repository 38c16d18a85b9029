/**
 * What the proxy-cache tests share: an auth stub (app code that sets the consumer), a counting
 * Express app, and small waits.
 */
import express from 'express';
import { definePlugin, type AnyPlugin } from 'tollgate';
import { gateway } from 'tollgate/express';

/** Sets `ctx.consumer` from an `X-User` header, as an auth plugin would after verifying a token. */
export const authStub = definePlugin({
  name: 'auth-stub',
  priority: 1000,
  access(ctx) {
    const user = ctx.request.header('x-user');
    if (user) ctx.consumer = { id: user };
  },
});

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** An Express app with the plugins mounted and routes that count how often they ran. */
export function expressApp(...plugins: AnyPlugin[]) {
  const calls: Record<string, number> = {};
  const count = (name: string) => (calls[name] = (calls[name] ?? 0) + 1);
  const app = express();
  app.use(gateway(...plugins));
  app.get('/json', (req, res) => {
    const n = count('json');
    res.json({ n, user: req.get('x-user') ?? null, q: req.query });
  });
  app.get('/text', (_req, res) => {
    res.type('text/plain').send(`text ${count('text')}`);
  });
  app.get('/html', (_req, res) => {
    res.type('text/html').send(`<p>${count('html')}</p>`);
  });
  app.get('/status/:code', (req, res) => {
    count(`status${req.params.code}`);
    res.status(Number(req.params.code)).json({ code: Number(req.params.code) });
  });
  app.get('/cookie', (_req, res) => {
    count('cookie');
    res.cookie('session', 'abc').json({ ok: true });
  });
  app.get('/big/:size', (req, res) => {
    count('big');
    res.type('text/plain').send('x'.repeat(Number(req.params.size)));
  });
  app.get('/stream', (_req, res) => {
    const n = count('stream');
    res.type('application/json');
    res.write('{"part":1,');
    setTimeout(() => res.end(`"n":${n}}`), 5);
  });
  app.get('/slow', (_req, res) => {
    const n = count('slow');
    setTimeout(() => res.json({ n }), 150);
  });
  app.post('/json', (_req, res) => {
    res.json({ post: count('post') });
  });
  return { app, calls };
}

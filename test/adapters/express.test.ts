import express from 'express';
import request from 'supertest';
import { Readable } from 'node:stream';
import { definePlugin, UnauthorizedError, type RequestContext } from 'tollgate';
import { gateway, getContext } from 'tollgate/express';

const stamp = (name: string, priority: number, calls: string[]) =>
  definePlugin({
    name,
    priority,
    access() {
      calls.push(`access:${name}`);
    },
    headerFilter(ctx) {
      calls.push(`header:${name}`);
      ctx.response.setHeader(`x-${name}`, String(ctx.response.status));
    },
    log() {
      calls.push(`log:${name}`);
    },
  });

const closed = (calls: string[], n: number) =>
  new Promise<void>((resolve) => {
    const t = setInterval(() => {
      if (calls.filter((c) => c.startsWith('log:')).length >= n) {
        clearInterval(t);
        resolve();
      }
    }, 5);
  });

describe('gateway (express)', () => {
  it('runs access hooks by priority, highest first, whatever the listed order', async () => {
    const calls: string[] = [];
    const app = express();
    app.use(gateway(stamp('low', 1, calls), stamp('high', 100, calls), stamp('mid', 50, calls)));
    app.get('/', (_req, res) => {
      calls.push('handler');
      res.json({ ok: true });
    });
    const res = await request(app).get('/');
    await closed(calls, 3);
    expect(res.status).toBe(200);
    expect(calls.slice(0, 4)).toEqual(['access:high', 'access:mid', 'access:low', 'handler']);
    expect(calls.slice(4, 7)).toEqual(['header:high', 'header:mid', 'header:low']);
    expect(res.headers['x-high']).toBe('200');
  });

  it('skips later access hooks after an early exit but runs headerFilter and log for plugins that ran', async () => {
    const calls: string[] = [];
    const deny = definePlugin({
      name: 'deny',
      priority: 50,
      access(ctx) {
        calls.push('access:deny');
        ctx.exit(403, { message: 'nope' }, { 'x-reason': 'test' });
      },
    });
    const app = express();
    app.use(gateway(stamp('first', 100, calls), deny, stamp('later', 1, calls)));
    app.get('/', (_req, res) => {
      calls.push('handler');
      res.send('should not run');
    });
    const res = await request(app).get('/');
    await closed(calls, 1);
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ message: 'nope' });
    expect(res.headers['x-reason']).toBe('test');
    expect(res.headers['x-first']).toBe('403');
    expect(res.headers['x-later']).toBeUndefined();
    expect(res.headers['x-tollgate-response-latency']).toMatch(/^\d+$/);
    expect(calls).not.toContain('handler');
    expect(calls).not.toContain('access:later');
    expect(calls).toContain('log:first');
    expect(calls).not.toContain('log:later');
  });

  it('shares one context across plugins mounted by separate app.use calls', async () => {
    const seen: RequestContext[] = [];
    const paths: string[] = [];
    const a = definePlugin({ name: 'a', priority: 10, access: (ctx) => void (seen.push(ctx), paths.push(`${ctx.request.mountPath}|${ctx.request.path}`)) });
    const b = definePlugin({ name: 'b', priority: 20, access: (ctx) => void (seen.push(ctx), paths.push(`${ctx.request.mountPath}|${ctx.request.path}`)) });
    const app = express();
    app.use(gateway(a));
    app.use('/api', gateway(b));
    app.get('/api/x', (req, res) => {
      seen.push(getContext(req));
      res.json({ mount: getContext(req).request.mountPath, path: getContext(req).request.path });
    });
    const res = await request(app).get('/api/x');
    expect(paths).toEqual(['|/api/x', '/api|/x']);
    expect(seen).toHaveLength(3);
    expect(seen[0]).toBe(seen[1]);
    expect(seen[1]).toBe(seen[2]);
    // one context, seen by each gateway relative to its own mount point
    expect(res.body).toEqual({ mount: '/api', path: '/x' });
  });

  it('sets a header in headerFilter on a streamed response from an Express route', async () => {
    const calls: string[] = [];
    const app = express();
    app.use(gateway(stamp('s', 1, calls)));
    app.get('/stream', (_req, res) => {
      res.status(201).type('text/plain');
      Readable.from(['a', 'b', 'c']).pipe(res);
    });
    const res = await request(app).get('/stream');
    expect(res.status).toBe(201);
    expect(res.text).toBe('abc');
    expect(res.headers['x-s']).toBe('201');
  });

  it('passes every body chunk through bodyFilter, with eof on the last call', async () => {
    const chunks: string[] = [];
    const upper = definePlugin({
      name: 'upper',
      priority: 1,
      bodyFilter(_ctx, chunk, eof) {
        chunks.push(`${chunk.toString()}${eof ? '|eof' : ''}`);
        return Buffer.from(chunk.toString().toUpperCase());
      },
    });
    const app = express();
    app.use(gateway(upper));
    app.get('/', (_req, res) => {
      res.write('ab');
      res.end('cd');
    });
    const res = await request(app).get('/');
    expect(res.text).toBe('ABCD');
    expect(chunks).toEqual(['ab', 'cd|eof']);
  });

  it('renders a thrown tollgate error as DESIGN.md says and a foreign error as a generic 500', async () => {
    const app = express();
    app.use(
      '/401',
      gateway(
        definePlugin({
          name: 'auth',
          priority: 1,
          access() {
            throw new UnauthorizedError('Unauthorized', { headers: { 'WWW-Authenticate': 'Bearer realm="x"' } });
          },
        }),
      ),
    );
    app.use(
      '/500',
      gateway(
        definePlugin({
          name: 'boom',
          priority: 1,
          async access() {
            throw new Error('secret-token-abc leaked?');
          },
        }),
      ),
    );
    const spy = jest.spyOn(console, 'error').mockImplementation(() => {});
    const unauthorized = await request(app).get('/401');
    const crashed = await request(app).get('/500');
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.body).toEqual({ message: 'Unauthorized' });
    expect(unauthorized.headers['www-authenticate']).toBe('Bearer realm="x"');
    expect(crashed.status).toBe(500);
    expect(crashed.body).toEqual({ message: 'An unexpected error occurred' });
    expect(crashed.text).not.toContain('secret-token-abc');
    expect(JSON.stringify(spy.mock.calls)).not.toMatch(/\n\s+at /); // no stack in the log
    spy.mockRestore();
  });

  it('throws a TypeError from getContext when no gateway ran', async () => {
    const app = express();
    app.get('/', (req, res) => {
      try {
        getContext(req);
        res.send('no');
      } catch (err) {
        res.status(500).send((err as Error).name);
      }
    });
    const res = await request(app).get('/');
    expect(res.text).toBe('TypeError');
  });
});

describe('client ip (express)', () => {
  it('honours "trust proxy" and nothing else', async () => {
    const ips: string[] = [];
    const record = definePlugin({ name: 'ip', priority: 1, access: (ctx) => void ips.push(ctx.request.ip) });
    const plain = express();
    plain.use(gateway(record));
    plain.get('/', (_req, res) => res.send('ok'));
    const trusting = express();
    trusting.set('trust proxy', true);
    trusting.use(gateway(record));
    trusting.get('/', (_req, res) => res.send('ok'));
    await request(plain).get('/').set('X-Forwarded-For', '6.6.6.6');
    await request(trusting).get('/').set('X-Forwarded-For', '6.6.6.6');
    expect(ips[0]).not.toBe('6.6.6.6');
    expect(ips[0]).toMatch(/127\.0\.0\.1|::1/);
    expect(ips[1]).toBe('6.6.6.6');
  });
});

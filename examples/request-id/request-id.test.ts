import express from 'express';
import request from 'supertest';
import { definePlugin, UnauthorizedError } from 'tollgate';
import { gateway, getContext } from 'tollgate/express';
import { createTestContext, runPlugin } from 'tollgate/testing';
import { requestId } from './request-id';

describe('requestId (example plugin)', () => {
  it('keeps a well-formed incoming id and echoes it (in-process, no server)', async () => {
    const ctx = createTestContext({ headers: { 'x-request-id': 'abc-123' } });
    const result = await runPlugin(requestId(), ctx);
    expect(result.headers['x-request-id']).toBe('abc-123');
    expect(ctx.request.header('x-request-id')).toBe('abc-123');
    expect(typeof ctx.shared.receivedAt).toBe('number');
  });

  it('replaces a malformed incoming id with a fresh uuid', async () => {
    const result = await runPlugin(requestId(), createTestContext({ headers: { 'x-request-id': 'evil\r\nid' } }));
    expect(result.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('puts the id in the app handler, the response and tollgate error bodies', async () => {
    const app = express();
    app.use(gateway(requestId({ headerName: 'X-Correlation-Id' })));
    app.get('/ok', (req, res) => res.json({ seen: req.headers['x-correlation-id'], ctx: getContext(req).requestId }));
    app.use(
      '/denied',
      gateway(
        definePlugin({
          name: 'deny',
          priority: 1,
          access() {
            throw new UnauthorizedError();
          },
        }),
      ),
    );
    const ok = await request(app).get('/ok').set('X-Correlation-Id', 'req_1');
    expect(ok.body).toEqual({ seen: 'req_1', ctx: 'req_1' });
    expect(ok.headers['x-correlation-id']).toBe('req_1');
    const denied = await request(app).get('/denied').set('X-Correlation-Id', 'req_2');
    expect(denied.status).toBe(401);
    expect(denied.body).toEqual({ message: 'Unauthorized', request_id: 'req_2' });
    expect(denied.headers['x-correlation-id']).toBe('req_2');
  });

  it('throws ConfigError for a header name that is not one', () => {
    expect(() => requestId({ headerName: 'bad header' })).toThrow('requestId: "headerName" must be an HTTP header name, got "bad header"');
  });
});

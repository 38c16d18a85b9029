/**
 * A gateway mounted in the other framework answers tollgate's 500 JSON (never an HTML page with a
 * stack) and logs which import the app needs. TypeScript refuses both mistakes at compile time
 * (test/types/hosts.test.ts); this covers JavaScript apps.
 */
import express from 'express';
import Koa from 'koa';
import request from 'supertest';
import { rateLimit, setLogger } from 'tollgate';
import { gateway } from 'tollgate/express';
import { gateway as koaGateway } from 'tollgate/koa';

const lines: string[] = [];
beforeAll(() => setLogger({ debug() {}, info() {}, warn() {}, error: (m: string) => void lines.push(m) }));
afterAll(() => setLogger(null));
beforeEach(() => (lines.length = 0));

describe('a gateway in the wrong framework', () => {
  it("answers 500 JSON in Express for tollgate/koa's gateway, and names tollgate/express", async () => {
    const app = express();
    app.use(koaGateway(rateLimit({ minute: 5 })) as unknown as express.RequestHandler);
    app.get('/', (_req, res) => void res.send('handler'));
    const res = await request(app).get('/');
    expect(res.status).toBe(500);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual({ message: 'An unexpected error occurred' });
    expect(res.text).not.toMatch(/at |<pre>|TypeError/);
    expect(lines).toEqual([expect.stringContaining("import { gateway } from 'tollgate/express'")]);
  });

  it("answers 500 JSON in Koa for tollgate/express's gateway, and names tollgate/koa", async () => {
    const app = new Koa();
    app.use(gateway(rateLimit({ minute: 5 })) as unknown as Koa.Middleware);
    app.use((ctx) => void (ctx.body = 'handler'));
    const res = await request(app.callback()).get('/');
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ message: 'An unexpected error occurred' });
    expect(lines).toEqual([expect.stringContaining("import { gateway } from 'tollgate/koa'")]);
  });

  it('throws a TypeError naming the import when called with something that is no request at all', () => {
    const handler = gateway(rateLimit({ minute: 5 })) as unknown as (...args: unknown[]) => void;
    expect(() => handler({}, {}, undefined)).toThrow(/gateway\(\) from 'tollgate\/express'/);
  });
});

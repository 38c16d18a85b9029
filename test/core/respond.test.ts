/**
 * The one response path: what it adds to an answer, and what happens to an answer Node refuses.
 */
import { Readable } from 'node:stream';
import express from 'express';
import Koa from 'koa';
import request from 'supertest';
import { definePlugin, type Logger } from 'tollgate';
import { gateway } from 'tollgate/express';
import { gateway as koaGateway } from 'tollgate/koa';
import { createTestContext, runPlugin } from 'tollgate/testing';

const capture = () => {
  const lines: string[] = [];
  const logger: Logger = { debug() {}, info() {}, warn: (m) => void lines.push(m), error: (m) => void lines.push(m) };
  return { lines, logger };
};

const badHeader = definePlugin({ name: 'bad-header', priority: 1, access: (ctx) => ctx.exit(200, 'x', { 'X-Bad': 'a\nb' }) });
const observer = (seen: string[]) =>
  definePlugin({ name: 'observer', priority: 2, headerFilter: (ctx) => void seen.push(String(ctx.response.status)) });

describe('the response path', () => {
  it.each([
    ['Express', (logger: Logger, ...plugins: ReturnType<typeof definePlugin>[]) => express().use(gateway({ logger }, ...plugins))],
    ['Koa', (logger: Logger, ...plugins: ReturnType<typeof definePlugin>[]) => new Koa().use(koaGateway({ logger }, ...plugins)).callback()],
  ])('answers 500 JSON when Node refuses an exit\'s head, and logs why (%s)', async (_host, make) => {
    for (const plugins of [[badHeader], [badHeader, observer([])]]) {
      const { lines, logger } = capture();
      const res = await request(make(logger, ...plugins)).get('/');
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ message: 'An unexpected error occurred' });
      expect(res.headers['x-bad']).toBeUndefined();
      expect(lines).toEqual(['the response head could not be sent']);
    }
  });

  it('streams a Readable exit body through the header and body phases', async () => {
    const seen: string[] = [];
    const stream = definePlugin({ name: 'stream', priority: 1, access: (ctx) => ctx.exit(201, Readable.from(['a', 'b', 'c']), { 'Content-Type': 'text/plain' }) });
    const bodyFilter = definePlugin({ name: 'upper', priority: 3, bodyFilter: (_ctx, chunk) => Buffer.from(chunk.toString().toUpperCase()) });
    const result = await runPlugin([stream, observer(seen), bodyFilter], createTestContext());
    expect(result.status).toBe(201);
    expect(result.body).toBe('ABC');
    expect(seen).toEqual(['201']);
    const res = await request(express().use(gateway(stream, observer(seen), bodyFilter))).get('/');
    expect([res.status, res.text]).toEqual([201, 'ABC']);
  });

  it("corrects Content-Length when a body filter replaces an exit's body", async () => {
    const exit = definePlugin({ name: 'exit', priority: 1, access: (ctx) => ctx.exit(200, { a: 1 }) });
    const wrap = definePlugin({ name: 'wrap', priority: 3, bodyFilter: (_ctx, chunk) => Buffer.from(`[${chunk.toString()}]`) });
    const res = await request(express().use(gateway(exit, wrap))).get('/');
    expect(res.text).toBe('[{"a":1}]');
    expect(res.headers['content-length']).toBe(String('[{"a":1}]'.length));
    expect(res.headers['x-tollgate-response-latency']).toMatch(/^\d+$/);
  });

  it('sends no Content-Length with a 204, nor a made-up one with a 304 that has no body', async () => {
    const status = (code: number) => definePlugin({ name: `s${code}`, priority: 1, access: (ctx) => ctx.exit(code) });
    const noContent = await request(express().use(gateway(status(204)))).get('/');
    expect(noContent.status).toBe(204);
    expect(noContent.headers['content-length']).toBeUndefined();
    const notModified = await request(express().use(gateway(status(304)))).get('/');
    expect(notModified.status).toBe(304);
    expect(notModified.headers['content-length']).toBeUndefined();
    const empty = await request(express().use(gateway(status(202)))).get('/');
    expect(empty.headers['content-length']).toBe('0');
  });
});

import express from 'express';
import { rateLimit as expressRateLimit } from 'express-rate-limit';
import request from 'supertest';
import { rateLimit, type HeaderStyle } from 'tollgate';
import { gateway } from 'tollgate/express';
import { createTestContext, runPlugin } from 'tollgate/testing';
import { secondsLeft, testClock, type TestClock } from './support';

const MINUTE = 60_000;
const RATE_HEADERS = /^(x-ratelimit|ratelimit|retry-after)/;

const rateHeaders = (headers: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(headers).filter(([name]) => RATE_HEADERS.test(name.toLowerCase())).map(([k, v]) => [k.toLowerCase(), v]));

describe('rateLimit headers', () => {
  let clock: TestClock;
  beforeEach(() => {
    clock = testClock();
  });

  async function third(style: HeaderStyle, extra: object = {}) {
    const plugin = rateLimit({ minute: 2, headers: style, now: clock, ...extra });
    await runPlugin(plugin, createTestContext());
    await runPlugin(plugin, createTestContext());
    const refused = await runPlugin(plugin, createTestContext());
    expect(refused.status).toBe(429);
    return rateHeaders(refused.headers);
  }

  it('kong: X-RateLimit-*-<Window> for every window and RateLimit-* for the closest one', async () => {
    const h = await third('kong', { hour: 10 });
    const reset = Number(h['ratelimit-reset']);
    expect(reset).toBe(secondsLeft(clock(), MINUTE));
    expect(h).toEqual({
      'x-ratelimit-limit-minute': '2',
      'x-ratelimit-remaining-minute': '0',
      'x-ratelimit-limit-hour': '10',
      'x-ratelimit-remaining-hour': '8',
      'ratelimit-limit': '2',
      'ratelimit-remaining': '0',
      'ratelimit-reset': String(reset),
      'retry-after': String(reset),
    });
  });

  it('draft-6: RateLimit-Policy lists every window; RateLimit-Limit/Remaining/Reset the closest', async () => {
    const h = await third('draft-6', { hour: 10 });
    const reset = h['ratelimit-reset'];
    expect(h).toEqual({
      'ratelimit-policy': '2;w=60, 10;w=3600',
      'ratelimit-limit': '2',
      'ratelimit-remaining': '0',
      'ratelimit-reset': reset,
      'retry-after': reset,
    });
  });

  it('draft-7: one RateLimit field with limit, remaining and reset', async () => {
    const h = await third('draft-7');
    const reset = String(h['retry-after']);
    expect(h).toEqual({ 'ratelimit-policy': '2;w=60', ratelimit: `limit=2, remaining=0, reset=${reset}`, 'retry-after': reset });
  });

  it('draft-8: named quotas, one per window, with express-rate-limit\'s partition key', async () => {
    const h = await third('draft-8', { hour: 10 });
    const reset = String(h['retry-after']);
    expect(reset).toBe(String(secondsLeft(clock(), MINUTE)));
    expect(h['ratelimit']).toBe(`"2-in-1min"; r=0; t=${reset}, "10-in-1hr"; r=8; t=${secondsLeft(clock(), 3_600_000)}`);
    // pk of 127.0.0.1, as express-rate-limit 8.7.5 computes it
    expect(h['ratelimit-policy']).toBe('"2-in-1min"; q=2; w=60; pk=:MTJjYTE3YjQ5YWYy:, "10-in-1hr"; q=10; w=3600; pk=:MTJjYTE3YjQ5YWYy:');
  });

  it.each(['draft-6', 'draft-7', 'draft-8'] as const)('%s: sends the header names and formats express-rate-limit users know', async (draft) => {
    const erlApp = express();
    erlApp.use(expressRateLimit({ windowMs: MINUTE, limit: 2, standardHeaders: draft, legacyHeaders: false }));
    erlApp.get('/', (_req, res) => void res.json({ ok: true }));
    const ourApp = express();
    ourApp.use(gateway(rateLimit({ minute: 2, limitBy: 'ip', headers: draft, now: clock })));
    ourApp.get('/', (_req, res) => void res.json({ ok: true }));
    // express-rate-limit's window starts at the first hit (60 s), ours at the minute: mask resets.
    const mask = (h: Record<string, unknown>) =>
      JSON.stringify(rateHeaders(h)).replace(/(reset=|t=|"ratelimit-reset":"|"retry-after":")\d+/g, '$1N');
    for (let i = 0; i < 3; i++) {
      const [theirs, ours] = await Promise.all([request(erlApp).get('/'), request(ourApp).get('/')]);
      expect(ours.status).toBe(theirs.status);
      expect(mask(ours.headers)).toBe(mask(theirs.headers));
      expect(mask(ours.headers)).toMatch(/"ratelimit(-policy)?":/);
    }
  });
});

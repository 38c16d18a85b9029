import { rateLimit } from 'tollgate';
import { createTestContext, runPlugin } from 'tollgate/testing';
import { LocalLimiter } from '../../../src/plugins/rate-limit/local-limiter';
import { Window } from '../../../src/plugins/rate-limit/windows';
import { BoundedCounters } from '../../../src/stores/memory-counters';
import { testClock } from './support';

const ip = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

describe('BoundedCounters', () => {
  it('holds at most twice maxKeys keys however many distinct keys arrive', () => {
    const counters = new BoundedCounters(1000, 60_000, 0);
    let peak = 0;
    for (let i = 0; i < 50_000; i++) {
      if (counters.get(ip(i), 1) === undefined) counters.set(ip(i), { period: 0, count: 1 });
      peak = Math.max(peak, counters.size);
    }
    expect(peak).toBeLessThanOrEqual(2000);
  });

  it('keeps a key that is used while a flood of new keys arrives', () => {
    const counters = new BoundedCounters(100, 60_000, 0);
    counters.set('regular', { period: 0, count: 7 });
    for (let i = 0; i < 10_000; i++) {
      counters.set(ip(i), { period: 0, count: 1 });
      if (i % 50 === 0) expect(counters.get('regular', 1)?.count).toBe(7);
    }
    expect(counters.get('regular', 1)?.count).toBe(7);
    expect(counters.get(ip(0), 1)).toBeUndefined();
  });

  it('drops keys untouched for two rotation periods, even with no pressure', () => {
    const counters = new BoundedCounters(1000, 60_000, 0);
    counters.set('idle', { period: 0, count: 1 });
    counters.set('busy', { period: 0, count: 1 });
    expect(counters.get('busy', 61_000)).toBeDefined(); // rotates; busy moves back to current
    expect(counters.get('busy', 122_000)).toBeDefined(); // rotates again: idle is gone
    expect(counters.get('idle', 122_001)).toBeUndefined();
  });
});

describe('LocalLimiter memory bound', () => {
  it('stays within maxKeys under a flood of distinct IPs and still limits a client that keeps calling', async () => {
    const limiter = new LocalLimiter([new Window('minute', 3)], 500);
    const now = testClock();
    expect(limiter.hit('1.2.3.4', now()).allowed).toBe(true);
    for (let i = 0; i < 20_000; i++) {
      limiter.hit(ip(i), now());
      if (i % 200 === 0) limiter.hit('1.2.3.4', now());
    }
    // the flood did not reset the active client's count: it is over its limit
    expect(limiter.hit('1.2.3.4', now()).allowed).toBe(false);
    const counters = (limiter as unknown as { counters: BoundedCounters[] }).counters[0]!;
    expect(counters.size).toBeLessThanOrEqual(1000);
  });

  it('is the default for a plugin: maxKeys 100000 per window', () => {
    expect(rateLimit({ minute: 1 }).config.maxKeys).toBe(100_000);
  });

  it('applies the plugin\'s maxKeys option', async () => {
    const plugin = rateLimit({ minute: 1, limitBy: 'ip', maxKeys: 10, now: testClock() });
    expect((await runPlugin(plugin, createTestContext({ ip: '9.9.9.9' }))).status).toBe(200);
    // 30 other clients push 9.9.9.9 out of both generations: its count is forgotten
    for (let i = 0; i < 30; i++) await runPlugin(plugin, createTestContext({ ip: ip(i) }));
    expect((await runPlugin(plugin, createTestContext({ ip: '9.9.9.9' }))).status).toBe(200);
    expect((await runPlugin(plugin, createTestContext({ ip: '9.9.9.9' }))).status).toBe(429);
  });
});

describe('Window', () => {
  const at = (name: 'second' | 'minute' | 'hour' | 'day' | 'month' | 'year', iso: string) => {
    const now = Date.parse(iso);
    const w = new Window(name, 10).at(now);
    return { start: new Date(w.start).toISOString(), end: new Date(w.end).toISOString(), reset: w.resetSeconds(now), seconds: w.seconds };
  };

  it('aligns periods to the UTC calendar', () => {
    expect(at('minute', '2024-05-06T07:08:09.250Z')).toEqual({ start: '2024-05-06T07:08:00.000Z', end: '2024-05-06T07:09:00.000Z', reset: 51, seconds: 60 });
    expect(at('hour', '2024-05-06T07:08:09.000Z')).toMatchObject({ start: '2024-05-06T07:00:00.000Z', reset: 3111 });
    expect(at('day', '2024-05-06T23:59:59.900Z')).toMatchObject({ start: '2024-05-06T00:00:00.000Z', reset: 1 });
    expect(at('second', '2024-05-06T07:08:09.999Z')).toMatchObject({ reset: 1, seconds: 1 });
  });

  it('uses real calendar months and years, so Reset is right late in a 31-day month and in leap years', () => {
    expect(at('month', '2024-01-31T23:00:00.000Z')).toEqual({ start: '2024-01-01T00:00:00.000Z', end: '2024-02-01T00:00:00.000Z', reset: 3600, seconds: 31 * 86400 });
    expect(at('month', '2024-02-10T00:00:00.000Z')).toMatchObject({ end: '2024-03-01T00:00:00.000Z', seconds: 29 * 86400 });
    expect(at('year', '2024-12-31T23:59:30.000Z')).toEqual({ start: '2024-01-01T00:00:00.000Z', end: '2025-01-01T00:00:00.000Z', reset: 30, seconds: 366 * 86400 });
  });

  it('never reports a reset of 0', () => {
    expect(at('minute', '2024-05-06T07:08:59.999Z').reset).toBe(1);
    expect(at('minute', '2024-05-06T07:08:00.000Z').reset).toBe(60);
  });
});

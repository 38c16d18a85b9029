/**
 * Helpers for the rate-limit tests: calendar-window timing, captured logs, unique Redis prefixes
 * and a throwaway redis-server of our own (test/support/redis-server.ts).
 */
import { randomBytes } from 'node:crypto';
import { setLogger } from 'tollgate';

export const SHARED_REDIS = 'redis://127.0.0.1:6379';

/** A key prefix no other test (or helper's test) uses. */
export const uniquePrefix = (name: string): string => `test-rl-${name}-${randomBytes(4).toString('hex')}:`;

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** rateLimit's `now`, which stands still until the test moves it. */
export interface TestClock {
  (): number;
  /** Moves the clock forward by `ms`. */
  advance(ms: number): void;
}

/**
 * A clock for rateLimit's `now` option. Windows follow the UTC calendar, so a test on the real
 * clock could straddle a window's end and see its counters restart. This one starts half-way into
 * every window length, a year included (15 June of this year, 12:30:30.500 UTC), and moves only
 * when the test calls `advance`. Stores expire counters by durations relative to this clock, so
 * the date being in the past or future does not matter to Redis or SQL.
 */
export function testClock(): TestClock {
  let t = Date.UTC(new Date().getUTCFullYear(), 5, 15, 12, 30, 30, 500);
  const clock = (() => t) as TestClock;
  clock.advance = (ms: number) => void (t += ms);
  return clock;
}

/** Seconds from `now` to the end of its period of `periodMs` (for periods up to a day). */
export const secondsLeft = (now: number, periodMs: number): number => Math.ceil((periodMs - (now % periodMs)) / 1000);

/** Collects what tollgate logs while a test runs; `restore()` puts the default logger back. */
export function captureLogs() {
  const lines: { level: string; message: string }[] = [];
  const push = (level: string) => (message: string) => void lines.push({ level, message });
  setLogger({ debug: push('debug'), info: push('info'), warn: push('warn'), error: push('error') });
  return {
    lines,
    count: (level: string, pattern: RegExp) => lines.filter((l) => l.level === level && pattern.test(l.message)).length,
    restore: () => setLogger(null),
  };
}

export { OwnRedis } from '../../support/redis-server';

/**
 * Clocks for rateLimit's `now` option. Rate-limit windows follow the UTC calendar, so a test on
 * the real clock could straddle a window's end and see its counters restart; these stand inside
 * one window of every length instead of the test waiting for a new one. Stores expire counters by
 * durations relative to the clock, so its date being in the past or future does not matter to
 * Redis or SQL.
 */

/** An instant half-way into every window length, a year included: 15 June of this year, 12:30:30.500 UTC. */
export const MID_WINDOW = Date.UTC(new Date().getUTCFullYear(), 5, 15, 12, 30, 30, 500);

/** rateLimit's `now`, which stands still until the test moves it. */
export interface TestClock {
  (): number;
  /** Moves the clock forward by `ms`. */
  advance(ms: number): void;
}

/** A clock standing at MID_WINDOW that moves only when the test calls `advance`. */
export function testClock(): TestClock {
  let t = MID_WINDOW;
  const clock = (() => t) as TestClock;
  clock.advance = (ms: number) => void (t += ms);
  return clock;
}

/** Seconds from `now` to the end of its period of `periodMs` (for periods up to a day). */
export const secondsLeft = (now: number, periodMs: number): number => Math.ceil((periodMs - (now % periodMs)) / 1000);

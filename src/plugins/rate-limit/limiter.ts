/**
 * What a counter backend answers for one request, whatever it stores counters in.
 */

/** The outcome of counting one request in every configured window. */
export interface Decision {
  /** False when a window was already at its limit: then nothing was counted, in any window. */
  readonly allowed: boolean;
  /**
   * Requests counted in each window's current period, in window order (shortest first),
   * including this request when it was allowed.
   */
  readonly used: readonly number[];
}

/** A counter backend: checks every window and counts the request in all of them, or in none. */
export interface Limiter {
  /** Counts one request of `key` at `now` (ms). Synchronous for memory, a promise for Redis. */
  hit(key: string, now: number): Decision | Promise<Decision>;
  /** Releases what the backend holds (a Redis client it created). */
  close(): Promise<void>;
}

/**
 * Bounded, synchronous in-memory counters for fixed windows (the rate-limit plugin's `local` policy).
 *
 * Our own code rather than rate-limiter-flexible's `RateLimiterMemory`, for three reasons:
 * - its store is an unbounded `Map` plus one `setTimeout` per key, kept for a whole window: a flood
 *   of distinct client IPs grows the process without limit (a `year` window keeps them a year);
 * - `consume()` returns a promise, which puts a microtask and an allocation on every request of a
 *   path that can otherwise stay synchronous;
 * - its windows start at each key's first hit, while Kong's are aligned to the UTC calendar.
 *
 * The bound is two generations of `Map` (the "hashlru" scheme): new keys go into the current
 * generation; when it holds `maxKeys`, it becomes the previous one and the old previous one is
 * dropped whole. A key found in the previous generation moves back to the current one, so the
 * `maxKeys` most recently used keys always survive and at most `2 × maxKeys` are held. The
 * generations also turn over every `rotateMs` (the window's longest period), which frees keys
 * whose period has ended while traffic is light: a key untouched for a whole rotation is expired.
 * Lookups are two `Map.get` at most, with no timers.
 */

/** One key's count in one period. Mutated in place so counting allocates nothing. */
export interface Counter {
  /** Start (ms) of the period the count belongs to. */
  period: number;
  /** Requests counted in that period. */
  count: number;
}

/** Counters for one window, bounded by key count. */
export class BoundedCounters {
  private current = new Map<string, Counter>();
  private previous = new Map<string, Counter>();
  private rotateAt: number;

  /**
   * @param maxKeys - keys always kept (the most recently used); at most twice as many are held
   * @param rotateMs - the longest period of the window: generations turn over at least this often
   */
  constructor(
    readonly maxKeys: number,
    private readonly rotateMs: number,
    now = Date.now(),
  ) {
    this.rotateAt = now + rotateMs;
  }

  /** The counter of `key`, if one is held (its period may be over: the caller compares). */
  get(key: string, now: number): Counter | undefined {
    if (now >= this.rotateAt) {
      this.rotate();
      this.rotateAt = now + this.rotateMs;
    }
    const found = this.current.get(key);
    if (found !== undefined) return found;
    const old = this.previous.get(key);
    if (old !== undefined) this.add(key, old);
    return old;
  }

  /** Stores a new counter for `key` (after `get` found none). */
  set(key: string, counter: Counter): void {
    this.add(key, counter);
  }

  /** Keys held now (both generations; a key being promoted may be counted twice). */
  get size(): number {
    return this.current.size + this.previous.size;
  }

  /** Drops every counter. */
  clear(): void {
    this.current = new Map();
    this.previous = new Map();
  }

  private add(key: string, counter: Counter): void {
    if (this.current.size >= this.maxKeys) this.rotate();
    this.current.set(key, counter);
  }

  private rotate(): void {
    this.previous = this.current;
    this.current = new Map();
  }
}

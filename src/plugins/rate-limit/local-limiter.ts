/**
 * The `local` policy: counters in this process's memory, checked and counted synchronously.
 *
 * Kong's `local` policy reads, decides, then increments in a timer, so concurrent requests can
 * overshoot. Here the read and the increment happen in one synchronous step on Node's single
 * thread, so one process never admits more than the limit.
 */
import { BoundedCounters, type Counter } from '../../stores/memory-counters';
import type { Decision, Limiter } from './limiter';
import { LONGEST_PERIOD_MS, type Window } from './windows';

/** Counts requests in memory; all windows or none. */
export class LocalLimiter implements Limiter {
  private readonly counters: BoundedCounters[];
  /** The counters found while checking, reused while counting (safe: `hit` is synchronous). */
  private readonly found: (Counter | undefined)[];

  constructor(
    private readonly windows: readonly Window[],
    maxKeys: number,
  ) {
    this.counters = windows.map((w) => new BoundedCounters(maxKeys, LONGEST_PERIOD_MS[w.name]));
    this.found = windows.map(() => undefined);
  }

  hit(key: string, now: number): Decision {
    const { windows, counters, found } = this;
    const n = windows.length;
    const used = new Array<number>(n);
    let allowed = true;
    for (let i = 0; i < n; i++) {
      const w = windows[i]!.at(now);
      const c = counters[i]!.get(key, now);
      found[i] = c;
      const count = c !== undefined && c.period === w.start ? c.count : 0;
      used[i] = count;
      if (count >= w.limit) allowed = false;
    }
    if (allowed) {
      for (let i = 0; i < n; i++) {
        const start = windows[i]!.start;
        const c = found[i];
        if (c === undefined) counters[i]!.set(key, { period: start, count: 1 });
        else if (c.period === start) c.count++;
        else {
          c.period = start;
          c.count = 1;
        }
        used[i] = (used[i] as number) + 1;
      }
    }
    found.fill(undefined);
    return { allowed, used };
  }

  async close(): Promise<void> {}
}

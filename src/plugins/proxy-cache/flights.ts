/**
 * Miss collapsing: while one request for a key is being answered (the leader), the others for the
 * same key wait for its response instead of each reaching the handler or the upstream.
 *
 * lru-cache's `fetch()` collapses concurrent loads too, but it owns the loading function and
 * always answers with a promise; here the "load" is the response the app or the upstream writes
 * through the response hooks, and a memory hit must stay synchronous, so the leader/follower
 * bookkeeping is this small map instead.
 */
import type { CachedResponse } from '../../stores/response-store';

/** How a leader's request ended for its followers: the entry it stored, `'bypass'` (the store is unavailable), or nothing usable. */
export type FlightOutcome = CachedResponse | 'bypass' | undefined;

/** One leader's request in progress. */
export interface Flight {
  readonly key: string;
  readonly startedAt: number;
  readonly done: Promise<FlightOutcome>;
  settled: boolean;
  resolve(outcome: FlightOutcome): void;
}

/** The flights of one plugin instance, by key. */
export class Flights {
  private readonly map = new Map<string, Flight>();

  /** @param maxMs - how long a flight may lead; older ones no longer hold followers back */
  constructor(private readonly maxMs: number) {}

  /** The flight in progress for `key`, if one started less than `maxMs` ago. */
  get(key: string): Flight | undefined {
    const flight = this.map.get(key);
    if (flight === undefined) return undefined;
    if (performance.now() - flight.startedAt > this.maxMs) {
      // A leader that hangs must not make every later miss wait: the next request leads anew.
      this.map.delete(key);
      return undefined;
    }
    return flight;
  }

  /** Starts a flight for `key`; the caller is its leader and must {@link settle} it. */
  lead(key: string): Flight {
    let resolve!: (outcome: FlightOutcome) => void;
    const done = new Promise<FlightOutcome>((r) => (resolve = r));
    const flight: Flight = { key, startedAt: performance.now(), done, settled: false, resolve };
    this.map.set(key, flight);
    return flight;
  }

  /** Ends a flight: its followers get `outcome`. Settling twice does nothing. */
  settle(flight: Flight, outcome: FlightOutcome): void {
    if (flight.settled) return;
    flight.settled = true;
    if (this.map.get(flight.key) === flight) this.map.delete(flight.key);
    flight.resolve(outcome);
  }

  /** Waits for a flight's outcome, at most `ms`; undefined when the wait ran out. */
  wait(flight: Flight, ms: number): Promise<FlightOutcome> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(undefined), ms);
      void flight.done.then((outcome) => {
        clearTimeout(timer);
        resolve(outcome);
      });
    });
  }

  /** Number of flights in progress (for tests). */
  get size(): number {
    return this.map.size;
  }
}

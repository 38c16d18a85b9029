/**
 * What every shared store (Redis, a SQL database) does when it fails: report the outage once, not
 * per request, and its end once; and bound how long a plugin waits for it.
 */
import { StoreError } from '../core/errors';
import { describeError, getLogger, type Logger } from '../core/logger';

/**
 * A store is reported back only after this long without a failure. With a Redis Cluster missing
 * one master, commands to the other masters succeed between failures: without the quiet period
 * the log would say "unavailable" / "available again" for every pair of requests.
 */
const QUIET_MS = 1_000;

/** Logs a store's outage once, when its first failure is seen, and its end once. */
export class OutageLog {
  private down = false;
  private lastFailure = 0;

  /**
   * @param what - the store and its user, as the log names them: `rateLimit: Redis`
   * @param logger - the plugin's own logger, if it was given one (else the one `setLogger` set,
   *   looked up when there is something to say)
   * @param now - the clock (tests move it)
   */
  constructor(
    private readonly what: string,
    private readonly logger?: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether an outage is being reported (a failure seen, no quiet success since). */
  get isDown(): boolean {
    return this.down;
  }

  /** Records a failed command or connection; logs the outage if it is new. */
  failed(err: unknown): void {
    this.lastFailure = this.now();
    if (this.down) return;
    this.down = true;
    (this.logger ?? getLogger()).warn(`${this.what} is unavailable`, describeError(err));
  }

  /** Records a success; logs the recovery once nothing has failed for a while. */
  recovered(): void {
    if (!this.down || this.now() - this.lastFailure < QUIET_MS) return;
    this.down = false;
    (this.logger ?? getLogger()).info(`${this.what} is available again`);
  }
}

/**
 * `pending`, or a `StoreError` if it has not settled within `ms`. The command itself is not
 * cancelled (neither ioredis nor a SQL pool can take one back); only the wait ends.
 */
export function deadline<T>(pending: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new StoreError(`${what} did not answer within ${ms} ms`)), ms);
    pending.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

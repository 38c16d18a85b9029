/**
 * Kong's rate-limiting windows: fixed periods aligned to the UTC calendar.
 *
 * @see https://developer.konghq.com/plugins/rate-limiting/ — windows and headers
 */

/** The window names, shortest first (Kong's `second` … `year`). */
export const WINDOW_NAMES = ['second', 'minute', 'hour', 'day', 'month', 'year'] as const;

/** One of Kong's window names. */
export type WindowName = (typeof WINDOW_NAMES)[number];

const FIXED_MS: Partial<Record<WindowName, number>> = {
  second: 1_000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
};

/** The longest a period of each window can last, in ms (a 31-day month, a leap year). */
export const LONGEST_PERIOD_MS: Readonly<Record<WindowName, number>> = {
  second: 1_000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  month: 31 * 86_400_000,
  year: 366 * 86_400_000,
};

/** The names express-rate-limit gives its draft-8 policies (`5-in-1min`). */
const POLICY_UNIT: Record<WindowName, string> = {
  second: '1sec',
  minute: '1min',
  hour: '1hr',
  day: '1day',
  month: '1month',
  year: '1year',
};

/**
 * One configured window and its limit, with the current period cached: computing a calendar
 * month from a timestamp costs a `Date`, so it is done once per period, not once per request.
 */
export class Window {
  /** `Minute` in `X-RateLimit-Limit-Minute`. */
  readonly title: string;
  /** `X-RateLimit-Limit-<Window>` */
  readonly limitHeader: string;
  /** `X-RateLimit-Remaining-<Window>` */
  readonly remainingHeader: string;
  /** The limit as a header value. */
  readonly limitText: string;
  /** The draft-8 policy name, `5-in-1min`. */
  readonly policyName: string;
  /** Start of the cached period (ms since the epoch, inclusive). */
  start = 0;
  /** End of the cached period (ms since the epoch, exclusive). */
  end = 0;

  constructor(
    readonly name: WindowName,
    readonly limit: number,
  ) {
    this.title = name[0]!.toUpperCase() + name.slice(1);
    this.limitHeader = `X-RateLimit-Limit-${this.title}`;
    this.remainingHeader = `X-RateLimit-Remaining-${this.title}`;
    this.limitText = String(limit);
    this.policyName = `${limit}-in-${POLICY_UNIT[name]}`;
  }

  /** Moves the cached period to the one containing `now` (ms) if needed. */
  at(now: number): this {
    if (now >= this.end || now < this.start) {
      const fixed = FIXED_MS[this.name];
      if (fixed !== undefined) {
        this.start = now - (now % fixed);
        this.end = this.start + fixed;
      } else {
        // Kong counts months and years from the 1st of the month / Jan 1, UTC; it resets them after
        // a nominal 30 or 365 days, which makes RateLimit-Reset wrong late in long months. The real
        // calendar end is used here so Reset and Retry-After are values a client can trust.
        const d = new Date(now);
        const y = d.getUTCFullYear();
        const m = this.name === 'month' ? d.getUTCMonth() : 0;
        this.start = Date.UTC(y, m, 1);
        this.end = this.name === 'month' ? Date.UTC(y, m + 1, 1) : Date.UTC(y + 1, 0, 1);
      }
    }
    return this;
  }

  /** Whole seconds until the current period ends, at least 1 (Kong's `RateLimit-Reset`). */
  resetSeconds(now: number): number {
    return Math.max(1, Math.ceil((this.end - now) / 1000));
  }

  /** Length of the current period in seconds (the `w` of the IETF drafts). */
  get seconds(): number {
    return Math.round((this.end - this.start) / 1000);
  }
}

/**
 * Where tollgate reports what an operator must know (an outage, a misbehaving plugin).
 *
 * Log lines carry an error's `code` and message, never its stack, and never a secret or token:
 * callers pass only identifiers and codes.
 */

/** A logger with the usual level methods (console, pino and winston all fit). */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const consoleLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: (message, fields) => console.warn(`[tollgate] ${message}`, ...(fields ? [fields] : [])),
  error: (message, fields) => console.error(`[tollgate] ${message}`, ...(fields ? [fields] : [])),
};

let current: Logger = consoleLogger;

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** Whether a value can be used as a `Logger`: it has the four level methods. */
export function isLogger(value: unknown): value is Logger {
  return typeof value === 'object' && value !== null && LEVELS.every((l) => typeof (value as Record<string, unknown>)[l] === 'function');
}

/** What a `ConfigError` says a logger must be. */
export const LOGGER_EXPECTED = `an object with ${LEVELS.join(', ')} methods (console, pino and winston are)`;

/** The `logger` option every built-in plugin takes. */
export interface LoggerOption {
  /**
   * Where this plugin reports (an outage of its store, an upstream that failed, a refused login),
   * instead of the gateway's logger or the process default. Kept as given: never copied or frozen.
   * @defaultValue while serving a request, the gateway's `logger`; otherwise (an outage noticed in
   *   the background) the logger `setLogger` set
   */
  logger?: Logger;
}

/**
 * Sets the logger every plugin reports to; `null` restores the default (warnings and errors on
 * the console).
 *
 * @example
 * ```ts
 * import pino from 'pino';
 * setLogger(pino());
 * ```
 */
export function setLogger(logger: Logger | null): void {
  current = logger ?? consoleLogger;
}

/** The logger in use. */
export function getLogger(): Logger {
  return current;
}

/** What may be logged of an error: its name, code and message, and those of its causes; never a stack. */
export function describeError(err: unknown): { error: string; code?: string; cause?: string } {
  if (!isError(err)) return { error: String(err) };
  const code = codeOf(err);
  const out: { error: string; code?: string; cause?: string } = { error: `${err.name}: ${err.message}`, ...(code ? { code } : {}) };
  // The chain below says why: `TypeError: fetch failed` is only useful with the DNS, TLS or
  // connection error under it. A few levels are enough; a cycle must not loop.
  const causes: string[] = [];
  let cause: unknown = err.cause;
  while (cause !== undefined && cause !== null && causes.length < 4 && cause !== err) {
    if (isError(cause)) {
      const c = codeOf(cause);
      causes.push(`${cause.name}: ${cause.message}${c && !cause.message.includes(c) ? ` (${c})` : ''}`);
      cause = cause.cause;
    } else {
      causes.push(String(cause));
      break;
    }
  }
  if (causes.length > 0) out.cause = causes.join(' <- ');
  return out;
}

/**
 * Whether a value is an Error, from this realm or another: fetch's errors come from Node's own realm,
 * which is not the realm of code running under jest (or any `vm` context), so `instanceof` misses them.
 */
const isError = (value: unknown): value is Error =>
  value instanceof Error || (typeof value === 'object' && value !== null && Object.prototype.toString.call(value) === '[object Error]');

const codeOf = (err: Error): string | undefined => {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
};

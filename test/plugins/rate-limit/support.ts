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

/**
 * Windows are aligned to the UTC calendar: a test that counts within one period waits, if needed,
 * until at least `marginMs` are left before the period of length `periodMs` ends.
 */
export async function awayFromBoundary(periodMs: number, marginMs = 3_000): Promise<void> {
  const left = periodMs - (Date.now() % periodMs);
  if (left < marginMs) await sleep(left + 50);
}

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

/**
 * Helpers for the rate-limit tests: captured logs, unique Redis prefixes, and from test/support a
 * clock standing inside every window (clock.ts) and a throwaway redis-server (redis-server.ts).
 */
import { randomBytes } from 'node:crypto';
import { setLogger } from 'tollgate';

export const SHARED_REDIS = 'redis://127.0.0.1:6379';

/** A key prefix no other test (or helper's test) uses. */
export const uniquePrefix = (name: string): string => `test-rl-${name}-${randomBytes(4).toString('hex')}:`;

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

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
export { secondsLeft, testClock, type TestClock } from '../../support/clock';

import { ConfigError } from 'tollgate';

/** The ConfigError `fn` throws; anything else it throws is rethrown, and not throwing fails the test. */
export function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}
